"""The Prometheus text exposition format (version 0.0.4), written by hand: a page of metric families,
each with its ``# HELP`` and ``# TYPE`` lines and its samples.

Written directly as text rather than through ``prometheus_client``: a scrape renders a fresh page from
the home (no process-wide registry to keep in step), and the format is small. Label values are escaped
as the format requires (backslash, double quote, newline); values are Go float syntax (``NaN``,
``+Inf``).

>>> family = Family("modelmon_x", "gauge", "An example.", ("endpoint",))
>>> page = Page()
>>> page.add(family, ('a"b',), 1.5)
>>> print(page.render(), end="")
# HELP modelmon_x An example.
# TYPE modelmon_x gauge
modelmon_x{endpoint="a\\"b"} 1.5
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence

#: The content type Prometheus expects for this format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = ("counter", "gauge")
_LABEL_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})
_HELP_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n"})


@dataclasses.dataclass(frozen=True)
class Family:
    """One metric: its name, type, help text and the names of its labels (always all given, in this order)."""

    name: str
    type: str
    help: str
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _METRIC_NAME.fullmatch(self.name):
            raise ValueError(f"bad metric name {self.name!r}")
        if self.type not in _TYPES:
            raise ValueError(f"metric {self.name}: type must be one of {_TYPES}, got {self.type!r}")
        for label in self.labels:
            if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"metric {self.name}: bad label name {label!r}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"metric {self.name}: repeated label in {self.labels}")


class Page:
    """Samples grouped by family, rendered in the order families were first added."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}
        self._lines: dict[str, list[str]] = {}  # by name: a frozen dataclass hashes all its fields per lookup

    def add(self, family: Family, labels: Sequence[str], value: float) -> None:
        """One sample of ``family``; ``labels`` are the values of ``family.labels``, in order."""
        if len(labels) != len(family.labels):
            raise ValueError(f"metric {family.name}: {len(family.labels)} label values expected, got {len(labels)}")
        self.add_text(family, label_text(family.labels, labels), value)

    def add_text(self, family: Family, labels: str, value: float) -> None:
        """One sample whose labels are already written (:func:`label_text` of ``family.labels``): a scrape
        of a large home writes each endpoint's and each result's labels once for all their samples."""
        lines = self._lines.get(family.name)
        if lines is None:
            lines = self.lines(family)
        lines.append(f"{family.name}{{{labels}}} {format_value(value)}" if labels
                     else f"{family.name} {format_value(value)}")

    def lines(self, family: Family) -> list[str]:
        """The sample lines of ``family`` (created empty, so a family without samples still has HELP/TYPE)."""
        known = self._families.setdefault(family.name, family)
        if known != family:
            raise ValueError(f"two metrics named {family.name}")
        return self._lines.setdefault(family.name, [])

    def families(self) -> Iterable[Family]:
        return self._families.values()

    def render(self) -> str:
        out = []
        for name, lines in self._lines.items():
            family = self._families[name]
            out.append(f"# HELP {name} {family.help.translate(_HELP_ESCAPES)}")
            out.append(f"# TYPE {name} {family.type}")
            out.extend(lines)
        return "\n".join(out) + "\n" if out else ""


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """``name="value",...`` as inside a sample's braces; values escaped.

    >>> label_text(("a", "b"), ("x", 'say "hi"'))
    'a="x",b="say \\\\"hi\\\\""'
    """
    return ",".join(f'{n}="{escape_label(str(v))}"' for n, v in zip(names, values, strict=True))


def escape_label(value: str) -> str:
    r"""A label value as the format spells it inside double quotes.

    >>> escape_label('C:\\dir "x"\nnext')
    'C:\\\\dir \\"x\\"\\nnext'
    """
    if "\\" in value or '"' in value or "\n" in value:
        return value.translate(_LABEL_ESCAPES)
    return value  # most values need no escape; translate() is the costly part of a large page


def format_value(value: float) -> str:
    """A sample value: integers as integers, floats in their shortest exact form, ``NaN``/``+Inf``/``-Inf``.

    >>> [format_value(v) for v in (3, 0.1, 1e-07, float("nan"), float("-inf"), True)]
    ['3', '0.1', '1e-07', 'NaN', '-Inf', '1']
    """
    if type(value) is float and -math.inf < value < math.inf:  # the common case first: a large page has 10^6
        return repr(value)
    if isinstance(value, bool | int):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)
