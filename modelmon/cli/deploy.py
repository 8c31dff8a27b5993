"""``modelmon deploy``: render the bundle's function configs for a project; write or deploy them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelmon.core.config import Settings
from modelmon.deploy import DeploymentFailed, deploy_function, render_bundle, write_configs
from modelmon.deploy.render import default_bundle_dir, load_templates
from modelmon.functions.roles import Role

ENV_DASHBOARD_URL = "NUCLIO_DASHBOARD_URL"  # nuclio-jupyter's own name for it


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="render the Nuclio function configs for a project; write them or deploy them to a dashboard",
        description="Render every function.yaml of the bundle for one project, then write them to --output "
        "(for nuctl) or deploy them to a Nuclio dashboard (--dashboard-url or $NUCLIO_DASHBOARD_URL).",
    )
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT or 'default')")
    parser.add_argument("--base-period", type=int, metavar="N", help="base period in minutes (controller cron)")
    parser.add_argument("--dashboard-url", metavar="URL", help="Nuclio dashboard to deploy to")
    parser.add_argument("--function", action="extend", nargs="+", metavar="NAME",
                        help="only these functions: function names (model-monitoring-writer) or roles (stream, "
                             "controller, writer, app, labels, batch-inference, example-model-server)")
    parser.add_argument("--output", metavar="DIR", help="write <DIR>/<function>/function.yaml instead of deploying")
    parser.add_argument("--kafka", metavar="BROKERS", help="comma-separated brokers: render kafka-cluster triggers")
    parser.add_argument("--backend", choices=["v3io", "local"], default="v3io",
                        help="the store the deployed functions use (default: v3io; local only for a single machine)")
    parser.add_argument("--image", help="base image to build the functions from")
    parser.add_argument("--bundle", metavar="DIR", help="bundle directory (default: the current one or the checkout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {"backend": args.backend}
    if args.project:
        overrides["project"] = args.project
    if args.base_period is not None:
        if args.base_period < 1:
            raise ValueError(f"--base-period {args.base_period}: must be at least 1 minute")
        overrides["base_period_minutes"] = args.base_period
    settings = Settings.from_env(**overrides)
    brokers = [b.strip() for b in (args.kafka or "").split(",") if b.strip()]
    if args.kafka is not None and not brokers:
        raise ValueError("--kafka: give at least one broker, e.g. kafka:9092")
    dashboard: str = args.dashboard_url or os.environ.get(ENV_DASHBOARD_URL, "")
    if not args.output and not dashboard:
        raise ValueError(f"give --output DIR or --dashboard-url URL (or set ${ENV_DASHBOARD_URL})")
    bundle = Path(args.bundle) if args.bundle else default_bundle_dir()
    functions = select_functions(bundle, args.function) if args.function else None
    rendered = render_bundle(bundle, settings, functions=functions, kafka_brokers=brokers, image=args.image)
    if args.output:
        for path in write_configs(rendered, args.output):
            print(f"wrote {path}")
        return 0
    print(f"deploying {len(rendered)} function(s) of project {settings.project!r} to {dashboard}")
    for function in rendered:
        try:
            state = deploy_function(function, dashboard)
        except DeploymentFailed as exc:
            print(f"  {function.function:<28} {function.name:<40} error")
            raise exc from None
        urls = ", ".join(state.external_urls or state.internal_urls)
        print(f"  {function.function:<28} {function.name:<40} {state.state}  {urls}".rstrip())
    return 0


def select_functions(bundle: Path, names: Sequence[str]) -> list[str]:
    """The bundle's function names for ``names``: each a function name, or a role (every function labelled
    with it: ``controller`` is ``model-monitoring-controller`` in the committed bundle, ``app`` every app)."""
    templates = load_templates(bundle)
    by_name = {t.name: t for t in templates}
    selected: list[str] = []
    unknown = []
    for name in names:
        if name in by_name:
            selected.append(name)
        elif name in set(Role):
            matched = sorted(t.name for t in templates if t.role is Role(name))
            if not matched:
                raise ValueError(f"function: no function of the bundle has the role {name!r}")
            selected.extend(matched)
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(f"function: no function or role named {', '.join(unknown)} (functions: "
                         f"{', '.join(sorted(by_name))}; roles: {', '.join(Role)})")
    return list(dict.fromkeys(selected))
