"""What each function of the bundle is for, read from its ``modelmon/role`` label.

Every committed ``function.yaml`` names its role in ``metadata.labels``, so rendering, the project
SDK and the demo pick functions by what they do rather than by what the bundle happens to call them.
A role says whether it is *core*: the stream, controller and writer always run together.

>>> role_of({"metadata": {"labels": {"modelmon/role": "controller"}}})
<Role.CONTROLLER: 'controller'>
>>> [str(r) for r in Role.core_roles()]
['stream', 'controller', 'writer']
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from modelmon.core.errors import ConfigError

#: The label key (in ``metadata.labels``) naming a function's role.
ROLE_LABEL = "modelmon/role"
#: The label a rendered config keeps its bundle name in (``metadata.name`` becomes the deployed name,
#: ``<project>-<name>``).
FUNCTION_LABEL = "modelmon.io/function"


class Role(enum.StrEnum):
    """A function's role in the bundle; ``core`` roles are deployed (and started) on every enable."""

    core: bool

    def __new__(cls, value: str, core: bool = False) -> Role:
        member = str.__new__(cls, value)
        member._value_ = value
        member.core = core
        return member

    # core roles, in the order they are brought up
    STREAM = "stream", True
    CONTROLLER = "controller", True
    WRITER = "writer", True
    # deployed on request
    APP = "app"
    LABELS = "labels"
    ALERTS = "alerts"
    BATCH_INFERENCE = "batch-inference"
    EXAMPLE_MODEL_SERVER = "example-model-server"

    @classmethod
    def core_roles(cls) -> list[Role]:
        """The core roles, in the order they are brought up."""
        return [role for role in cls if role.core]


def role_of(config: Mapping[str, Any]) -> Role | None:
    """The role ``config``'s ``modelmon/role`` label names; ``None`` without one (a function from elsewhere).

    A label naming no known role raises :class:`ConfigError`: a misspelt role would leave a function out
    of every selection without a word.
    """
    metadata = config.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    value = labels.get(ROLE_LABEL) if isinstance(labels, Mapping) else None
    if value is None:
        return None
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(Role)
        raise ConfigError(f"metadata.labels.{ROLE_LABEL}: {value!r} is not a modelmon role ({known})") from None
