"""Which endpoint a name means: as in MLRun 1.8+, a name plus its function identifies one endpoint.

An endpoint's function is the ``function[:tag]`` part of its ``function_uri``; a function given
without a tag is ``latest`` (MLRun's default tag), so ``p/serving`` and ``p/serving:latest`` are the
same function. Registration keeps (name, function) unique in a project; look-ups by name alone work
while the name is unique, and otherwise say which (id, function) pairs it could mean.

>>> FunctionRef.of_uri("p/serving:v2@abc", "p"), str(FunctionRef.of_uri("serving", "p"))
(FunctionRef(name='serving', tag='v2'), 'serving:latest')
>>> FunctionRef("serving", "latest").uri("p"), FunctionRef("serving", "v2").uri("p")
('p/serving', 'p/serving:v2')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from modelmon.endpoints.record import ModelEndpoint
from modelmon.events.tracking import parse_function_uri

#: MLRun's tag of a function deployed without one (``ModelEndpoint.function_tag`` reads it so too).
DEFAULT_TAG = "latest"


@dataclasses.dataclass(frozen=True)
class FunctionRef:
    """A serving function of a project: its name and tag (``latest`` when none was given)."""

    name: str
    tag: str = DEFAULT_TAG

    @classmethod
    def of_uri(cls, function_uri: str, project: str) -> FunctionRef:
        """The function of ``[project/]function[:tag][@hash]`` (the hash does not name another function)."""
        _, name, tag, _ = parse_function_uri(function_uri, project)
        return cls(name, tag or DEFAULT_TAG)

    @classmethod
    def of(cls, endpoint: ModelEndpoint) -> FunctionRef:
        return cls(endpoint.function_name, endpoint.function_tag)

    def uri(self, project: str) -> str:
        """The ``function_uri`` stored for this function (the tag only when it is not ``latest``)."""
        return f"{project}/{self.name}" + ("" if self.tag == DEFAULT_TAG else f":{self.tag}")

    def matches(self, name: str | None, tag: str | None) -> bool:
        """Whether this is function ``name`` (any, when ``None``) with tag ``tag`` (any, when ``None``)."""
        return (name is None or name == self.name) and (tag is None or tag == self.tag)

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


def same_function(endpoints: Iterable[ModelEndpoint], function_name: str | None,
                  function_tag: str | None) -> list[ModelEndpoint]:
    """The ``endpoints`` served by function ``function_name`` (any when ``None``) with tag ``function_tag``."""
    return [e for e in endpoints if FunctionRef.of(e).matches(function_name, function_tag)]


def candidates(endpoints: Sequence[ModelEndpoint]) -> str:
    """``id (function name:tag)`` of each endpoint, for an error that asks the caller to choose."""
    return ", ".join(f"{e.endpoint_id} (function {FunctionRef.of(e)})"
                     for e in sorted(endpoints, key=lambda e: (str(FunctionRef.of(e)), e.endpoint_id)))


def ambiguous(name: str, project: str, endpoints: Sequence[ModelEndpoint]) -> ValueError:
    """The error for a name that several endpoints have, listing each one's id and function."""
    return ValueError(f"model endpoint name {name!r} is ambiguous in project {project!r}: "
                      f"{len(endpoints)} endpoints have it: {candidates(endpoints)}; pass function_name= "
                      "(and function_tag=) or the endpoint id")
