"""``modelmon alerts``: alert configs (list, add, delete), their activations, manual resets, deliveries."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from modelmon.alerts.activations import activations_frame
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import Deliveries
from modelmon.alerts.evaluator import Evaluator
from modelmon.cli.endpoints import add_home_options, open_home, records, text_table
from modelmon.core.errors import ConfigError
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "alerts", help="alert configs, their activations and deliveries",
        description="Alert configs say which results (detected/suspected per result kind, app failures, no "
                    "traffic) raise an alert, how often, and where it is sent; the alerts function evaluates "
                    "them. Times are UTC.")
    commands = parser.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True,
                                     help="list, activations, reset, add, delete or deliveries")

    listing = commands.add_parser("list", help="the stored alert configs",
                                  description="One line per stored alert config (the full configs with --json).")
    add_home_options(listing)
    listing.set_defaults(func=run_list)

    activations = commands.add_parser(
        "activations", help="alert activations: state, last window and value, how often it fired",
        description="One line per config, endpoint, app and result that matched; --json adds each history.")
    add_home_options(activations)
    activations.add_argument("--active", action="store_true", help="only the activations that are active now")
    activations.add_argument("--config", metavar="NAME", help="only this config's activations")
    activations.set_defaults(func=run_activations)

    reset = commands.add_parser("reset", help="resolve a config's active activations by hand",
                                description="Resolve the active activations of config NAME (of every endpoint, "
                                            "or only --endpoint); their history records the manual reset.")
    add_home_options(reset)
    reset.add_argument("name", metavar="NAME", help="the alert config's name")
    reset.add_argument("--endpoint", metavar="ID", help="only this endpoint's activations (endpoint id or name)")
    reset.set_defaults(func=run_reset)

    add = commands.add_parser("add", help="store an alert config from a YAML or JSON file",
                              description="Validate and store (create or replace) the alert config in FILE, in "
                                          "MLRun's shape: name, summary, severity, entities, trigger.events, "
                                          "criteria, reset_policy, cooldown, notifications.")
    add_home_options(add)
    add.add_argument("--file", metavar="FILE", required=True, help="the config, a YAML or JSON file")
    add.set_defaults(func=run_add)

    delete = commands.add_parser("delete", help="delete an alert config",
                                 description="Delete alert config NAME; its activations stay as history.")
    add_home_options(delete)
    delete.add_argument("name", metavar="NAME", help="the alert config's name")
    delete.set_defaults(func=run_delete)

    deliveries = commands.add_parser("deliveries", help="the notification outbox: pending, delivered, failed",
                                     description="One line per notification and channel in the outbox.")
    add_home_options(deliveries)
    deliveries.add_argument("--state", choices=["pending", "delivered", "failed"],
                            help="only the deliveries in this state")
    deliveries.set_defaults(func=run_deliveries)


def run_list(args: argparse.Namespace) -> int:
    settings, backend = open_home(args, check_project=False)  # configs may come before any traffic
    try:
        configs = AlertConfigStore(backend.kv, ProjectPaths(settings.project)).list()
    finally:
        backend.close()
    if args.json:
        print(json.dumps([c.to_dict() for c in configs], indent=2))
        return 0
    if not configs:
        print(f"project {settings.project!r} has no alert configs (add one: modelmon alerts add --file FILE)")
        return 0
    rows = pd.DataFrame([{"name": c.name, "severity": c.severity, "events": ",".join(c.events),
                          "endpoints": ",".join(c.endpoints) or "*", "criteria": f"{c.count} in {c.period_s}s",
                          "reset": c.reset_policy, "cooldown_s": c.cooldown_s,
                          "notify": ",".join(str(n.get("kind")) for n in c.notifications) or "-"} for c in configs])
    print(text_table(rows, list(rows.columns)))
    return 0


def run_activations(args: argparse.Namespace) -> int:
    settings, backend = open_home(args, check_project=False)  # configs may come before any traffic
    try:
        items = Evaluator(backend.kv, ProjectPaths(settings.project), refresh_s=0).activations(
            config=args.config, active_only=args.active)
    finally:
        backend.close()
    frame = activations_frame(items)
    if args.json:
        plain = frame.drop(columns=["history"])
        for column in ("window_start", "window_end", "changed"):
            plain[column] = [None if pd.isna(t) else t.isoformat() for t in plain[column]]
        rows = records(plain)
        for row, history in zip(rows, frame["history"], strict=True):
            row["history"] = [{k: v.isoformat() if isinstance(v, pd.Timestamp) else v for k, v in h.items()}
                              for h in history]
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if frame.empty:
        print("no active alerts" if args.active else "no alert activations")
        return 0
    shown = frame.assign(window_end=[_iso(t) for t in frame["window_end"]],
                         changed=[_iso(t) for t in frame["changed"]],
                         value=["-" if pd.isna(v) else f"{v:.4g}" for v in frame["value"]],
                         endpoint=[n or i for n, i in zip(frame["endpoint_name"], frame["endpoint_id"], strict=True)])
    print(text_table(shown, ["config", "endpoint", "app", "result", "state", "severity", "status", "value",
                             "window_end", "changed", "activations"], right=["value", "activations"]))
    return 0


def run_reset(args: argparse.Namespace) -> int:
    settings, backend = open_home(args, check_project=False)  # configs may come before any traffic
    try:
        paths = ProjectPaths(settings.project)
        outbox = Deliveries(backend.kv, paths, clock=now_ms).enqueue
        done = Evaluator(backend.kv, paths, refresh_s=0).reset(args.name, args.endpoint, outbox)
    finally:
        backend.close()
    print(f"{args.name}: {done} active alert{'s' if done != 1 else ''} reset")
    return 0


def run_add(args: argparse.Namespace) -> int:
    path = Path(args.file)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({exc})") from None
    config = AlertConfig.from_dict(data)
    settings, backend = open_home(args, check_project=False)  # configs may come before any traffic
    try:
        AlertConfigStore(backend.kv, ProjectPaths(settings.project)).store(config)
    finally:
        backend.close()
    print(f"stored alert config {config.name!r} ({', '.join(config.events)}; severity {config.severity})")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    settings, backend = open_home(args, check_project=False)  # configs may come before any traffic
    try:
        AlertConfigStore(backend.kv, ProjectPaths(settings.project)).delete(args.name)
    finally:
        backend.close()
    print(f"deleted alert config {args.name!r}")
    return 0


def run_deliveries(args: argparse.Namespace) -> int:
    settings, backend = open_home(args, check_project=False)  # configs may come before any traffic
    try:
        items = Deliveries(backend.kv, ProjectPaths(settings.project), clock=now_ms).list(args.state)
    finally:
        backend.close()
    if args.json:
        print(json.dumps(items, indent=2, default=str))
        return 0
    if not items:
        print("no deliveries" if args.state is None else f"no {args.state} deliveries")
        return 0
    rows = pd.DataFrame([{"key": i.get("key"), "channel": i.get("kind"), "state": i.get("state"),
                          "attempts": i.get("attempts"), "error": (i.get("last_error") or "-")[:60]} for i in items])
    print(text_table(rows, list(rows.columns), right=["attempts"]))
    return 0


def _iso(t: Any) -> str:
    return "-" if t is None or pd.isna(t) else f"{t:%Y-%m-%dT%H:%MZ}"
