"""Artifact objects an app may log, as MLRun's ``mlrun.artifacts`` spell them, and what logging returns.

``context.log_artifact(TableArtifact("rows", df=df))`` stores the table as CSV (MLRun's format for a
DataFrame table), ``Artifact(key=..., body=..., format="json")`` its body, ``PlotlyArtifact(key=...,
figure=fig)`` the figure as HTML. Logging returns a :class:`LoggedArtifact`: the stored path (a ``str``,
as modelmon always returned) carrying MLRun's ``key``, ``tag``, ``labels`` and ``target_path``.

Keys MLRun 1.6 accepted but paths cannot hold, such as ``sample_df_2026-01-01 00:00:00+00:00``, are
sanitised by :func:`sanitise_key`: every run of other characters than letters, digits, ``_``, ``-`` and
``.`` becomes one ``_``.

>>> sanitise_key("sample_df_2026-01-01 00:00:00+00:00")
'sample_df_2026-01-01_00_00_00_00_00'
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

_OTHER_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_KEY_CHARS = 128


def sanitise_key(key: object) -> str:
    """An artifact name from an MLRun key (see the module docstring); ``ValueError`` for path-like keys
    (``/``, ``\\``, ``..``) or keys with no letter or digit."""
    if not isinstance(key, str):
        raise ValueError(f"an artifact key must be a string, got {type(key).__name__}")
    if "/" in key or "\\" in key or ".." in key:
        raise ValueError(
            f"invalid artifact name {key!r}: use up to {MAX_KEY_CHARS} letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, without '..' or path separators"
        )
    name = _OTHER_CHARACTERS.sub("_", key).lstrip("_.-")[:MAX_KEY_CHARS]
    if not name:
        raise ValueError(f"invalid artifact name {key!r}: it needs a letter or digit")
    return name


class Artifact:
    """MLRun's generic artifact: a ``key`` and a ``body`` (text, bytes or a JSON-able object) or a
    ``local_path`` to a file, stored in ``format`` (by default from the body, or the key's suffix)."""

    kind = "artifact"

    def __init__(self, key: str | None = None, body: Any = None, viewer: str | None = None,
                 is_inline: bool = False, format: str | None = None, src_path: str | None = None,
                 target_path: str | None = None, **kwargs: Any) -> None:
        self.key = key or ""
        self.body = body
        self.viewer = viewer
        self.format = format or _suffix_format(self.key)
        self.src_path = src_path or kwargs.pop("local_path", None)
        self.target_path = target_path
        self.tag = str(kwargs.pop("tag", "") or "")
        self.labels: dict[str, str] = dict(kwargs.pop("labels", None) or {})

    def get_body(self) -> Any:
        return self.body

    def payload(self) -> dict[str, Any]:
        """What :meth:`MonitoringApplicationContext.log_artifact` stores: ``body``/``df``/``figure`` and format."""
        if self.body is None and self.src_path:
            path = pathlib.Path(self.src_path)
            return {"body": path.read_bytes(), "format": self.format or _suffix_format(path.name) or "binary"}
        return {"body": self.body, "format": self.format}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r})"


class TableArtifact(Artifact):
    """MLRun's table: ``df=`` (stored as CSV, as MLRun does) or ``body=`` text in ``format``."""

    kind = "table"

    def __init__(self, key: str | None = None, body: Any = None, df: Any = None, viewer: str | None = None,
                 visible: bool = False, inline: bool = False, format: str | None = None,
                 header: list[str] | None = None, schema: Any = None, **kwargs: Any) -> None:
        super().__init__(key, body, viewer=viewer or ("table" if visible else None), is_inline=inline,
                         format=format, **kwargs)
        self.df = df
        self.header = list(df.columns) if df is not None else header
        self.schema = schema

    def get_body(self) -> Any:
        return self.df if self.df is not None else self.body

    def payload(self) -> dict[str, Any]:
        if self.df is not None:
            return {"df": self.df, "format": "csv"}
        return super().payload()


class PlotlyArtifact(Artifact):
    """MLRun's plotly figure artifact, stored as HTML."""

    kind = "plotly"

    def __init__(self, figure: Any = None, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(key, **kwargs)
        self.figure = figure

    def get_body(self) -> Any:
        return self.figure

    def payload(self) -> dict[str, Any]:
        return {"figure": self.figure, "format": self.format or "html"}


class LoggedArtifact(str):
    """The path an artifact was stored at, with MLRun's artifact attributes (``key``, ``tag``, …)."""

    key: str
    kind: str
    tag: str
    labels: dict[str, str]

    def __new__(cls, path: str, *, key: str, kind: str = "artifact", tag: str = "",
                labels: dict[str, str] | None = None) -> LoggedArtifact:
        self = super().__new__(cls, path)
        self.key, self.kind, self.tag, self.labels = key, kind, tag, dict(labels or {})
        return self

    @property
    def target_path(self) -> str:
        return str(self)

    @property
    def uri(self) -> str:
        return str(self)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "metadata": {"key": self.key, "tag": self.tag, "labels": self.labels},
                "spec": {"target_path": str(self), "format": self.rpartition(".")[2]}}


def _suffix_format(key: str) -> str | None:
    """The format a key's suffix names (``report.html`` → html), as MLRun takes it."""
    from modelmon.apps.sdk.artifact_formats import FORMATS

    suffix = pathlib.PurePath(key).suffix[1:].lower() if key else ""
    by_extension = {ext: fmt for fmt, ext in FORMATS.items()}
    return by_extension.get(suffix) or (suffix if suffix in FORMATS else None)
