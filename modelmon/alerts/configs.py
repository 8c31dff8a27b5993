"""Alert configs (MLRun's shape): which results fire an alert, how often, and where it is sent.

A config names its trigger ``events`` (``<result kind>_detected`` / ``_suspected``, ``mm_app_failed`` or
``no_traffic``), the ``entities`` it watches (endpoint ids or names, or ``"*"``; optional app and result
filters), the ``criteria`` (``count`` events within ``period``), the ``reset_policy`` (``auto``: resolved by
a later window of the same result back at ``no_detection``; ``manual``: by :meth:`ModelMonitoringProject.
reset_alert_config`), a ``cooldown`` between two activations and its ``notifications``. A notification spec
names the environment variables holding its secrets (``url_env``, ``password_env``), never a secret.

>>> c = AlertConfig.from_dict({"name": "drift", "trigger": {"events": ["data_drift_detected"]},
...                            "criteria": {"count": 3, "period": "30m"}, "cooldown": "1h"})
>>> c.count, c.period_s, c.cooldown_s, c.endpoints
(3, 1800, 3600, ())
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
from collections.abc import Mapping
from typing import Any

from modelmon.backends.base import KV, scan_all
from modelmon.core.errors import ConfigError, NotFound
from modelmon.core.paths import ProjectPaths, check_name
from modelmon.core.results import ResultKindApp

SEVERITIES = ("low", "medium", "high")
RESET_POLICIES = ("auto", "manual")
APP_FAILED, NO_TRAFFIC = "mm_app_failed", "no_traffic"
#: Every trigger event: two per result kind, an app failure and missing traffic.
EVENTS: tuple[str, ...] = (*(f"{k.name}_{s}" for k in ResultKindApp for s in ("detected", "suspected")),
                           APP_FAILED, NO_TRAFFIC)
CHANNEL_KINDS = ("webhook", "slack", "email", "log")
#: Spec keys that would hold a secret itself; a spec names an environment variable instead (``<key>_env``).
SECRET_KEYS = ("url", "webhook", "webhook_url", "password", "secret", "token", "user")
PLACEHOLDERS = ("config", "severity", "endpoint", "endpoint_id", "app", "result", "value", "window", "status",
                "state", "event")
DEFAULT_SUMMARY = "[{severity}] {config}: {endpoint} {app}/{result} is {status} (value {value}) in {window}"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, what: str) -> int:
    """Seconds from ``value``: a whole number of seconds or text like ``"30m"``, ``"2h"``, ``"45s"``, ``"1d"``.

    >>> parse_duration("30m", "period"), parse_duration(90, "cooldown")
    (1800, 90)
    """
    if isinstance(value, bool):
        raise ConfigError(f"{what}: {value!r} is not a duration (seconds, or text like '30m', '2h')")
    if isinstance(value, int) and value >= 0:
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{what}: {value!r} is not a duration (seconds, or text like '30m', '2h')")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _names(value: Any, what: str) -> tuple[str, ...]:
    """A list of non-empty strings; ``None``, ``"*"`` or ``[]`` mean all (the empty tuple)."""
    if value is None or value == "*" or value == ["*"]:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what}: expected a list of names (or '*' for all), got {value!r}")
    return tuple(value)


def check_channel(spec: Any, where: str) -> dict[str, Any]:
    """``spec`` checked: a known ``kind``, the fields it needs, and no secret in clear."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected an object like {{'kind': 'webhook', 'url_env': 'MY_HOOK_URL'}}")
    kind = spec.get("kind")
    if kind not in CHANNEL_KINDS:
        raise ConfigError(f"{where}.kind: {kind!r} is not one of {', '.join(CHANNEL_KINDS)}")
    for key in SECRET_KEYS:
        if key in spec:
            raise ConfigError(f"{where}.{key}: secrets are never stored in a config; put it in an environment "
                              f"variable of the alerts function and name that variable in {key}_env")
    for key, value in spec.items():
        if not isinstance(key, str):
            raise ConfigError(f"{where}: keys must be text, got {key!r}")
        if key.endswith("_env") and not (isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value)):
            raise ConfigError(f"{where}.{key}: {value!r} is not an environment variable name")
    if kind in ("webhook", "slack") and not spec.get("url_env"):
        raise ConfigError(f"{where}.url_env: a {kind} channel needs the name of the variable holding its URL")
    if kind == "email":
        if not spec.get("host"):
            raise ConfigError(f"{where}.host: an email channel needs the SMTP host")
        to = spec.get("to")
        if not to or not (isinstance(to, str) or (isinstance(to, list) and all(isinstance(t, str) for t in to))):
            raise ConfigError(f"{where}.to: an email channel needs one address or a list of addresses")
    try:
        return dict(json.loads(json.dumps(dict(spec))))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: values must be JSON (text, numbers, lists)") from None


@dataclasses.dataclass(frozen=True)
class AlertConfig:
    """One alert rule; build it with :meth:`from_dict` (which validates) or directly (then :meth:`check`)."""

    name: str
    events: tuple[str, ...]
    summary: str = DEFAULT_SUMMARY
    severity: str = "medium"
    endpoints: tuple[str, ...] = ()  # ids or names; empty: every endpoint
    apps: tuple[str, ...] = ()  # empty: every app
    results: tuple[str, ...] = ()  # empty: every result
    count: int = 1
    period_s: int = 3600
    reset_policy: str = "auto"
    cooldown_s: int = 0
    no_traffic_windows: int = 3
    notifications: tuple[dict[str, Any], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        try:
            check_name(self.name, "alert config name")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not self.events:
            raise ConfigError(f"alert {self.name!r}: trigger.events is empty (choose from {', '.join(EVENTS)})")
        for event in self.events:
            if event not in EVENTS:
                raise ConfigError(f"alert {self.name!r}: trigger event {event!r} is unknown "
                                  f"(choose from {', '.join(EVENTS)})")
        if self.severity not in SEVERITIES:
            raise ConfigError(f"alert {self.name!r}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if self.reset_policy not in RESET_POLICIES:
            raise ConfigError(f"alert {self.name!r}: reset_policy {self.reset_policy!r} is not auto or manual")
        for what, value, low in (("criteria.count", self.count, 1), ("criteria.period", self.period_s, 1),
                                 ("cooldown", self.cooldown_s, 0), ("no_traffic_windows", self.no_traffic_windows, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"alert {self.name!r}: {what} must be a whole number, {low} or more (got {value!r})")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.summary) if f is not None]
        except ValueError as exc:
            raise ConfigError(f"alert {self.name!r}: summary template is malformed ({exc})") from None
        for field in fields:
            if field not in PLACEHOLDERS:
                raise ConfigError(f"alert {self.name!r}: summary placeholder {{{field}}} is unknown "
                                  f"(use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")

    @property
    def result_events(self) -> frozenset[str]:
        """The trigger events about app results (``<kind>_detected`` / ``_suspected``)."""
        return frozenset(e for e in self.events if e not in (APP_FAILED, NO_TRAFFIC))

    def watches(self, endpoint_id: str, endpoint_name: str, app: str, result: str | None = None) -> bool:
        """Whether this config's entities cover the endpoint, app and (when given) result."""
        if self.endpoints and endpoint_id not in self.endpoints and endpoint_name not in self.endpoints:
            return False
        if self.apps and app not in self.apps:
            return False
        return not (result is not None and self.results and result not in self.results)

    def render(self, **values: Any) -> str:
        """The summary with ``values`` filled in (a placeholder without a value renders as empty)."""
        return self.summary.format(**{p: "" for p in PLACEHOLDERS} | {k: v for k, v in values.items()
                                                                      if k in PLACEHOLDERS})

    @classmethod
    def from_dict(cls, data: Any) -> AlertConfig:
        """A config from MLRun's shape (``trigger.events``, ``criteria``, ``entities``) or the flat one
        :meth:`to_dict` writes; :class:`ConfigError` naming the first bad field."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"an alert config is an object, got {type(data).__name__}")
        known = {"name", "summary", "severity", "entities", "trigger", "events", "criteria", "reset_policy",
                 "cooldown", "no_traffic_windows", "notifications", "description", "endpoints", "apps", "results"}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(f"alert config: unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(known))})")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError("alert config: 'name' is required")
        trigger = data.get("trigger") or {}
        if not isinstance(trigger, Mapping):
            raise ConfigError(f"alert {name!r}: trigger must be an object like {{'events': [...]}}")
        events = _names(trigger.get("events", data.get("events")), f"alert {name!r}: trigger.events")
        entities = data.get("entities") or {}
        if not isinstance(entities, Mapping):
            raise ConfigError(f"alert {name!r}: entities must be an object like {{'ids': ['*'], 'apps': [...]}}")
        criteria = data.get("criteria") or {}
        if not isinstance(criteria, Mapping):
            raise ConfigError(f"alert {name!r}: criteria must be an object like {{'count': 3, 'period': '30m'}}")
        notifications = data.get("notifications") or []
        if not isinstance(notifications, list):
            raise ConfigError(f"alert {name!r}: notifications must be a list of channel specs")
        summary = data.get("summary") or DEFAULT_SUMMARY
        if not isinstance(summary, str):
            raise ConfigError(f"alert {name!r}: summary must be text")
        return cls(
            name=name, events=events, summary=summary,
            severity=str(data.get("severity", "medium")).lower(),
            endpoints=_names(entities.get("ids", data.get("endpoints")), f"alert {name!r}: entities.ids"),
            apps=_names(entities.get("apps", data.get("apps")), f"alert {name!r}: entities.apps"),
            results=_names(entities.get("results", data.get("results")), f"alert {name!r}: entities.results"),
            count=criteria.get("count", 1),
            period_s=parse_duration(criteria.get("period", 3600), f"alert {name!r}: criteria.period"),
            reset_policy=str(data.get("reset_policy", "auto")).lower(),
            cooldown_s=parse_duration(data.get("cooldown", 0), f"alert {name!r}: cooldown"),
            no_traffic_windows=data.get("no_traffic_windows", 3),
            notifications=tuple(check_channel(s, f"alert {name!r}: notifications[{i}]")
                                for i, s in enumerate(notifications)),
            description=str(data.get("description") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """MLRun's shape; :meth:`from_dict` reads it back to an equal config."""
        return {
            "name": self.name, "description": self.description, "summary": self.summary, "severity": self.severity,
            "entities": {"ids": list(self.endpoints) or ["*"], "apps": list(self.apps) or ["*"],
                         "results": list(self.results) or ["*"]},
            "trigger": {"events": list(self.events)},
            "criteria": {"count": self.count, "period": self.period_s},
            "reset_policy": self.reset_policy, "cooldown": self.cooldown_s,
            "no_traffic_windows": self.no_traffic_windows,
            "notifications": [dict(n) for n in self.notifications],
        }


class AlertConfigStore:
    """The configs of one project in KV (``alert_configs_table``), one item per name holding its JSON."""

    def __init__(self, kv: KV, paths: ProjectPaths) -> None:
        self.kv, self.table = kv, paths.alert_configs_table

    def store(self, config: AlertConfig) -> None:
        self.kv.put(self.table, config.name, {"name": config.name, "config": json.dumps(config.to_dict())})

    def get(self, name: str) -> AlertConfig:
        item = self.kv.get(self.table, name)
        if item is None:
            raise NotFound(f"no alert config named {name!r}")
        return AlertConfig.from_dict(json.loads(item["config"]))

    def list(self) -> list[AlertConfig]:
        return [AlertConfig.from_dict(json.loads(item["config"])) for _, item in scan_all(self.kv, self.table)]

    def delete(self, name: str) -> None:
        if self.kv.get(self.table, name) is None:
            raise NotFound(f"no alert config named {name!r}")
        self.kv.delete(self.table, name)


def quick_start_config(url_env: str) -> AlertConfig:
    """The implicit config of the one-setting quick start: every detected or suspected result and every app
    failure, on every endpoint, posted to the webhook whose URL ``url_env`` holds."""
    events = tuple(e for e in EVENTS if e != NO_TRAFFIC)
    return AlertConfig(name="quick-start", events=events, severity="medium",
                       notifications=({"kind": "webhook", "url_env": url_env},),
                       description=f"every detected/suspected result, posted to ${url_env}")
