"""Turning what an app logs (text, objects, DataFrames, figures) into bytes of a known format."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pandas as pd

#: Supported formats and the file extension each is stored with.
FORMATS = {"json": "json", "text": "txt", "html": "html", "csv": "csv", "parquet": "parquet", "png": "png",
           "binary": "bin"}


def default_format(payload: Any) -> str:
    """The format used when the app does not name one."""
    if isinstance(payload, pd.DataFrame):
        return "parquet"
    if _figure_kind(payload) == "matplotlib":
        return "png"
    if _figure_kind(payload) == "plotly":
        return "html"
    if isinstance(payload, str | bytes):
        return "text"
    return "json"


def encode(payload: Any, fmt: str | None) -> tuple[bytes, str]:
    """``(data, format)`` for ``payload``; ``ValueError`` naming the problem when it cannot be stored so."""
    fmt = fmt or default_format(payload)
    if fmt not in FORMATS:
        raise ValueError(f"unknown artifact format {fmt!r}: use one of {', '.join(FORMATS)}")
    if isinstance(payload, pd.DataFrame):
        return _encode_frame(payload, fmt), fmt
    figure = _figure_kind(payload)
    if figure is not None:
        return _encode_figure(payload, figure, fmt), fmt
    if fmt == "binary" and not isinstance(payload, bytes | str):
        raise ValueError(f"format 'binary' needs bytes, got {type(payload).__name__}")
    if fmt in ("parquet", "png") or (fmt == "csv" and not isinstance(payload, str | bytes)):  # csv text is kept
        raise ValueError(f"format {fmt!r} needs a DataFrame or a figure, got {type(payload).__name__}")
    if isinstance(payload, bytes):
        return payload, fmt
    if isinstance(payload, str):
        return payload.encode(), fmt
    if fmt != "json":
        raise ValueError(f"format {fmt!r} needs text, got {type(payload).__name__} (use format='json')")
    try:
        return json.dumps(payload, allow_nan=False, default=_json_default).encode(), fmt
    except (TypeError, ValueError) as exc:
        raise ValueError(f"artifact body is not JSON-serialisable: {exc}") from None


def _json_default(value: Any) -> Any:
    """numpy scalars/arrays and timestamps inside JSON bodies."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _encode_frame(df: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        buffer = io.BytesIO()
        df.to_parquet(buffer)
        return buffer.getvalue()
    if fmt == "csv":
        return df.to_csv(index=False).encode()
    if fmt == "json":
        return df.to_json(orient="records").encode()
    if fmt == "html":
        return df.to_html(index=False).encode()
    if fmt == "text":
        return df.to_string(index=False).encode()
    raise ValueError(f"a DataFrame cannot be stored as {fmt!r}: use parquet, csv, json, html or text")


def is_figure(payload: Any) -> bool:
    """True for a matplotlib or plotly figure."""
    return _figure_kind(payload) is not None


def _figure_kind(payload: Any) -> str | None:
    """'matplotlib' or 'plotly' for figures of those libraries (recognised without importing them)."""
    module = type(payload).__module__ or ""
    if module.startswith("matplotlib") and hasattr(payload, "savefig"):
        return "matplotlib"
    if module.startswith("plotly") and hasattr(payload, "to_html"):
        return "plotly"
    return None


def _encode_figure(figure: Any, kind: str, fmt: str) -> bytes:
    if fmt not in ("png", "html"):
        raise ValueError(f"a {kind} figure is stored as 'html' or 'png', not {fmt!r}")
    if kind == "plotly":
        if fmt == "html":
            return str(figure.to_html(include_plotlyjs=True, full_html=True)).encode()
        try:
            return bytes(figure.to_image(format="png"))
        except (ValueError, ImportError, RuntimeError) as exc:
            raise ValueError(f"cannot render the plotly figure as png ({exc}); use format='html'") from None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    if fmt == "png":
        return png
    encoded = base64.b64encode(png).decode()
    return f'<html><body><img src="data:image/png;base64,{encoded}"/></body></html>'.encode()
