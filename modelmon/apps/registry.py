"""The registered monitoring applications: KV ``paths.apps_table``, one item per app name.

The controller dispatches windows only to apps listed here; the SDK and CLI register and remove
them. The item layout is the contract in CONTRIBUTING.md ("Registered apps").
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from modelmon.backends.base import KV, scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths, check_name
from modelmon.core.timeutil import now_ms

log = logging.getLogger(__name__)

_CLASS_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


@dataclasses.dataclass(frozen=True)
class RegisteredApp:
    """One monitoring application as the controller sees it.

    ``endpoints`` restricts it to endpoint names or ids (empty: all endpoints); ``label_selector``
    to endpoints whose labels hold every given key/value. ``base_period_minutes`` of ``None`` means
    the system's base period.
    """

    name: str
    class_path: str
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    endpoints: tuple[str, ...] = ()
    label_selector: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    base_period_minutes: int | None = None
    created_ms: int = 0
    enabled: bool = True

    def __post_init__(self) -> None:
        check_name(self.name, "application name")
        if not isinstance(self.class_path, str) or not _CLASS_PATH.fullmatch(self.class_path):
            raise ValueError(f"application {self.name!r}: class_path {self.class_path!r} is not 'module:Class'")
        if self.base_period_minutes is not None and (
            isinstance(self.base_period_minutes, bool)
            or not isinstance(self.base_period_minutes, int)
            or self.base_period_minutes < 1
        ):
            raise ValueError(f"application {self.name!r}: base_period_minutes must be a positive whole number")

    def period_ms(self, system_period_minutes: int) -> int:
        """This app's window length; it must be a multiple of the system's base period."""
        minutes = self.base_period_minutes or system_period_minutes
        if minutes % system_period_minutes:
            raise ValueError(
                f"application {self.name!r}: base period {minutes} min is not a multiple of the "
                f"system's {system_period_minutes} min"
            )
        return minutes * 60_000

    def applies_to(self, endpoint_id: str, endpoint_name: str, labels: Mapping[str, Any]) -> bool:
        """Whether this app analyses the endpoint (by name/id list and label selector)."""
        if self.endpoints and endpoint_id not in self.endpoints and endpoint_name not in self.endpoints:
            return False
        return all(labels.get(k) == v for k, v in self.label_selector.items())

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "class_path": self.class_path,
            "kwargs": json.dumps(dict(self.kwargs)),
            "endpoints": json.dumps(list(self.endpoints)),
            "label_selector": json.dumps(dict(self.label_selector)),
            "created_ms": self.created_ms,
            "enabled": self.enabled,
        }
        if self.base_period_minutes is not None:
            item["base_period_minutes"] = self.base_period_minutes
        return item

    @classmethod
    def from_item(cls, name: str, item: Mapping[str, Any]) -> RegisteredApp:
        def loads(field: str, default: Any) -> Any:
            raw = item.get(field)
            return json.loads(raw) if isinstance(raw, str) and raw else default

        return cls(
            name=name,
            class_path=item.get("class_path", ""),
            kwargs=loads("kwargs", {}),
            endpoints=tuple(loads("endpoints", [])),
            label_selector=loads("label_selector", {}),
            base_period_minutes=item.get("base_period_minutes"),
            created_ms=int(item.get("created_ms") or 0),
            enabled=bool(item.get("enabled", True)),
        )


class AppRegistry:
    """Register, list and remove monitoring applications of one project."""

    def __init__(self, kv: KV, paths: ProjectPaths, system_period_minutes: int | None = None) -> None:
        self._kv = kv
        self._table = paths.apps_table
        self._system_period = system_period_minutes

    def register(
        self,
        name: str,
        class_path: str,
        *,
        kwargs: Mapping[str, Any] | None = None,
        endpoints: Sequence[str] = (),
        label_selector: Mapping[str, Any] | None = None,
        base_period_minutes: int | None = None,
        enabled: bool = True,
        created_ms: int | None = None,
    ) -> RegisteredApp:
        """Add or replace the app ``name``; re-registering keeps its original ``created_ms``."""
        if isinstance(endpoints, str):
            raise ValueError("endpoints must be a list of endpoint names or ids, not a single string")
        try:
            json.dumps(dict(kwargs or {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"application {name!r}: kwargs are not JSON-serialisable ({exc})") from None
        existing = self._kv.get(self._table, name)
        app = RegisteredApp(
            name=name,
            class_path=class_path,
            kwargs=dict(kwargs or {}),
            endpoints=tuple(endpoints),
            label_selector=dict(label_selector or {}),
            base_period_minutes=base_period_minutes,
            created_ms=int(existing["created_ms"]) if existing and existing.get("created_ms") else (
                created_ms if created_ms is not None else now_ms()),
            enabled=enabled,
        )
        if self._system_period is not None:
            app.period_ms(self._system_period)  # validates the multiple
        self._kv.put(self._table, name, app.to_item())
        return app

    def get(self, name: str) -> RegisteredApp:
        item = self._kv.get(self._table, name)
        if item is None:
            raise NotFound(f"no monitoring application named {name!r} is registered")
        return RegisteredApp.from_item(name, item)

    def list(self, *, enabled_only: bool = False) -> list[RegisteredApp]:
        """Every registered app, by name. A damaged record is logged and left out, so that one bad
        registration does not stop the controller for every other app."""
        apps = []
        for key, item in scan_all(self._kv, self._table):
            try:
                apps.append(RegisteredApp.from_item(key, item))
            except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
                log.error("monitoring application %r has a damaged registration, skipped: %s", key, exc)
        return [a for a in apps if a.enabled or not enabled_only]

    def set_enabled(self, name: str, enabled: bool) -> None:
        if not self._kv.update(self._table, name, {"enabled": enabled}, create=False):
            raise NotFound(f"no monitoring application named {name!r} is registered")

    def remove(self, name: str) -> None:
        """Unregister ``name``; its stored results and progress stay."""
        if self._kv.get(self._table, name) is None:
            raise NotFound(f"no monitoring application named {name!r} is registered")
        self._kv.delete(self._table, name)
