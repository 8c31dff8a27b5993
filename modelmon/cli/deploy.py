"""``modelmon deploy``: render the bundle's function configs for a project; write or deploy them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelmon.core.config import ENV_SOURCE, ENV_V3IO_ACCESS_KEY, Settings
from modelmon.core.kafka_security import ENV_KAFKA_SASL_PASSWORD, MECHANISMS, PROTOCOLS, KafkaSecurity
from modelmon.core.store_addresses import parse_brokers
from modelmon.deploy import DeploymentFailed, deploy_function, render_bundle, write_configs
from modelmon.deploy.access_key import DEFAULT_SECRET, DEFAULT_SECRET_KEY, AccessKey
from modelmon.deploy.archive import write_archive
from modelmon.deploy.code_source import (
    CodeSource,
    check_bundle_source,
    require_source,
    source_from,
)
from modelmon.deploy.kafka_credentials import KafkaCredentials
from modelmon.deploy.nuctl import PLATFORMS, check_platform, nuctl_commands
from modelmon.deploy.postgres_password import DEFAULT_SECRET as PG_SECRET
from modelmon.deploy.postgres_password import DEFAULT_SECRET_KEY as PG_SECRET_KEY
from modelmon.deploy.postgres_password import PostgresPassword
from modelmon.deploy.postgres_stores import (
    CLI_NAMES,
    check_postgres_stores,
    ensure_topics,
    password_secret,
    refuse_access_key,
)
from modelmon.deploy.render import default_bundle_dir, load_templates
from modelmon.functions.roles import Role

ENV_DASHBOARD_URL = "NUCLIO_DASHBOARD_URL"  # nuclio-jupyter's own name for it
KAFKA_NEEDS_POSTGRES = (
    "--kafka: only the postgres backend writes its streams to Kafka; with --backend {backend} every producer (the "
    "tracking client and model servers, the controller, the apps, labels, dead letters) writes {where}, so the "
    "Kafka triggers would wait on topics nobody writes to. Add --postgres DSN (KV and TSDB in PostgreSQL)"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="render the Nuclio function configs for a project; write them or deploy them to a dashboard",
        description="Render every function.yaml of the bundle for one project, then write them to --output "
        "(for nuctl) or deploy them to a Nuclio dashboard (--dashboard-url or $NUCLIO_DASHBOARD_URL; --source "
        "says where its builder gets the bundle). --archive FILE writes that bundle archive.",
    )
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT or 'default')")
    parser.add_argument("--base-period", type=int, metavar="N", help="base period in minutes (controller cron)")
    parser.add_argument("--dashboard-url", metavar="URL", help="Nuclio dashboard to deploy to")
    parser.add_argument("--function", action="extend", nargs="+", metavar="NAME",
                        help="only these functions: function names (model-monitoring-writer) or roles (stream, "
                             "controller, writer, app, labels, batch-inference, example-model-server)")
    parser.add_argument("--output", metavar="DIR", help="write <DIR>/<function>/function.yaml instead of deploying")
    parser.add_argument("--source", metavar="SOURCE",
                        help=f"with --dashboard-url: where the dashboard's builder gets the bundle (default: "
                             f"${ENV_SOURCE}): an archive URL (https://.../modelmon-bundle.tar.gz, made with "
                             "--archive), git+https://<host>/<repo>.git@<branch>, or image:<image built from the "
                             "bundle>")
    parser.add_argument("--archive", metavar="FILE.tar.gz",
                        help="write the bundle archive a dashboard's builder installs (then upload it and pass "
                             "its URL as --source); deploys nothing")
    parser.add_argument("--kafka", metavar="BROKERS",
                        help="streams on these Kafka brokers (host:port,host:port), with --postgres: every function "
                             "writes and reads its topics, triggers are kafka-cluster ones")
    parser.add_argument("--kafka-security-protocol", choices=PROTOCOLS,
                        help="with --kafka: SASL and/or TLS (managed Kafka: SASL_SSL); the triggers and functions "
                             "get the SASL password (and the CA given with --kafka-ca-file) from the PostgreSQL "
                             f"password's secret; --create-topics reads the password from ${ENV_KAFKA_SASL_PASSWORD}")
    parser.add_argument("--kafka-sasl-mechanism", choices=MECHANISMS, help="with SASL: the mechanism (default PLAIN)")
    parser.add_argument("--kafka-sasl-username", metavar="USER", help="with SASL: the username")
    parser.add_argument("--kafka-ca-file", metavar="PEM",
                        help="with TLS: the brokers' CA bundle, when private (it goes into the secret as "
                             "kafka-ca-cert; a public CA needs none)")
    parser.add_argument("--postgres", metavar="DSN",
                        help="KV and TSDB in this PostgreSQL database (libpq DSN without a password: the functions "
                             "read PGPASSWORD from a Kubernetes secret, see --postgres-password-secret)")
    parser.add_argument("--samples-url", metavar="URL",
                        help="with --postgres: samples and objects under this URL (s3://bucket/prefix, or "
                             "file:///path on a volume every function mounts)")
    parser.add_argument("--create-topics", action="store_true",
                        help="with --kafka: create the topics the functions' triggers read, from this machine "
                             "(kept as they are when they exist; needs kafka-python)")
    parser.add_argument("--postgres-password-secret", metavar="NAME[/KEY]|none",
                        help=f"the secret holding the PostgreSQL password (default: {PG_SECRET}/{PG_SECRET_KEY}); "
                             "none: set no PGPASSWORD")
    parser.add_argument("--access-key", choices=["secret", "env"],
                        help="where the functions' V3IO_ACCESS_KEY comes from: a Kubernetes secret (default; "
                             "Nuclio's kube platform), or env: $V3IO_ACCESS_KEY of this shell (sent to the "
                             "dashboard; with --output, the printed nuctl commands pass it with --env)")
    parser.add_argument("--access-key-secret", metavar="NAME[/KEY]",
                        help=f"the secret holding the access key (default: {DEFAULT_SECRET}/{DEFAULT_SECRET_KEY})")
    parser.add_argument("--platform", choices=PLATFORMS, default="kube",
                        help="Nuclio's platform: kube (default) or local (Docker; needs --access-key env)")
    parser.add_argument("--backend", choices=["v3io", "local", "postgres"],
                        help="the store the deployed functions use (default: v3io, or postgres with --postgres; local "
                             "only for a single machine)")
    parser.add_argument("--image", help="base image to build the functions from")
    parser.add_argument("--bundle", metavar="DIR", help="bundle directory (default: the current one or the checkout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides = store_overrides(args)
    if args.project:
        overrides["project"] = args.project
    if args.base_period is not None:
        if args.base_period < 1:
            raise ValueError(f"--base-period {args.base_period}: must be at least 1 minute")
        overrides["base_period_minutes"] = args.base_period
    settings = Settings.from_env(**overrides)
    bundle = Path(args.bundle) if args.bundle else default_bundle_dir()
    if args.archive:
        return write_bundle_archive(args, bundle)
    dashboard: str = args.dashboard_url or os.environ.get(ENV_DASHBOARD_URL, "")
    if not args.output and not dashboard:
        raise ValueError(f"give --output DIR or --dashboard-url URL (or set ${ENV_DASHBOARD_URL})")
    if args.output and args.source:
        raise ValueError("--source is for --dashboard-url: with --output, nuctl sends the bundle itself (--path)")
    source = None if args.output else dashboard_source(args, bundle)
    password = password_secret(args.postgres_password_secret, settings.backend, CLI_NAMES)
    access_key = access_key_of(args) if settings.backend != "postgres" else None
    if access_key is not None:
        check_platform(args.platform, access_key)
    functions = select_functions(bundle, args.function) if args.function else None
    rendered = render_bundle(bundle, settings, functions=functions, image=args.image, access_key=access_key,
                             source=source, postgres_password=password)
    if args.create_topics:
        for topic, created in ensure_topics(rendered, settings.kafka_brokers, settings.kafka_security):
            print(f"{'created' if created else 'exists '} topic {topic}")
    if args.output:
        written = write_configs(rendered, args.output)
        for path in written:
            print(f"wrote {path}")
        needs = _postgres_needs(settings, password) if password is not None else _needs(args.platform, access_key)
        print(f"\ndeploy them with nuctl from here ({needs}):")
        for line in nuctl_commands(rendered, written, _shown(bundle), platform=args.platform, access_key=access_key):
            print(f"  {line}")
        return 0
    assert source is not None, "every dashboard deploy has a source"
    print(f"deploying {len(rendered)} function(s) of project {settings.project!r} to {dashboard}, from {source}")
    for function in rendered:
        try:
            state = deploy_function(function, dashboard)
        except DeploymentFailed as exc:
            print(f"  {function.function:<28} {function.name:<40} error")
            raise exc from None
        urls = ", ".join(state.external_urls or state.internal_urls)
        print(f"  {function.function:<28} {function.name:<40} {state.state}  {urls}".rstrip())
    return 0


def store_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of the stores the options name. Kafka, PostgreSQL and the samples URL come from the options
    only (not this shell's ``MODELMON_*``): what is deployed is what the command line says."""
    backend = args.backend or ("postgres" if args.postgres else "v3io")
    if args.create_topics and args.kafka is None:
        raise ValueError("--create-topics: only with --kafka BROKERS")
    if args.kafka is not None and backend != "postgres":
        where = "V3IO streams" if backend == "v3io" else "the SQLite file of its own container"
        raise ValueError(KAFKA_NEEDS_POSTGRES.format(backend=backend, where=where))
    if backend != "postgres":
        for option, value in (("--postgres", args.postgres), ("--samples-url", args.samples_url),
                              ("--postgres-password-secret", args.postgres_password_secret),
                              ("--kafka-security-protocol", args.kafka_security_protocol)):
            if value is not None:
                raise ValueError(f"{option}: only with the postgres backend (--postgres DSN)")
        return {"backend": backend, "kafka_brokers": (), "samples_url": None}
    if not args.postgres:
        raise ValueError("--backend postgres needs --postgres DSN (libpq's, without a password)")
    check_postgres_stores(args.postgres, args.kafka, args.samples_url, CLI_NAMES)
    refuse_access_key(bool(args.access_key or args.access_key_secret), CLI_NAMES)
    if args.platform == "local":
        raise ValueError("--platform local with --postgres: Nuclio's Docker platform ignores secret references, so "
                         "PGPASSWORD would be empty; deploy to Kubernetes, or run the bundle with modelmon run")
    return {"backend": "postgres", "postgres_dsn": args.postgres,
            "kafka_brokers": parse_brokers(args.kafka, "--kafka"), "samples_url": args.samples_url,
            "kafka_security": kafka_security_of(args)}


def kafka_security_of(args: argparse.Namespace) -> KafkaSecurity:
    """The ``--kafka-*`` security options; the password only from this shell (for ``--create-topics``)."""
    if not args.kafka_security_protocol:
        given = [o for o, v in (("--kafka-sasl-mechanism", args.kafka_sasl_mechanism),
                                ("--kafka-sasl-username", args.kafka_sasl_username),
                                ("--kafka-ca-file", args.kafka_ca_file)) if v]
        if given:
            raise ValueError(f"{', '.join(given)}: only with --kafka-security-protocol")
        return KafkaSecurity()
    return KafkaSecurity(args.kafka_security_protocol, args.kafka_sasl_mechanism, args.kafka_sasl_username,
                         os.environ.get(ENV_KAFKA_SASL_PASSWORD) or None, args.kafka_ca_file)


def dashboard_source(args: argparse.Namespace, bundle: Path) -> CodeSource:
    """The source of a dashboard deploy (``--source`` or ``$MODELMON_SOURCE``), checked against the bundle."""
    source = require_source(source_from(args.source))
    check_bundle_source(source, bundle)
    if source.kind == "image" and args.image:
        raise ValueError(f"--image {args.image}: with --source {source} nothing is built (the functions run that "
                         "image), so there is no base image to build from")
    return source


def write_bundle_archive(args: argparse.Namespace, bundle: Path) -> int:
    """``--archive FILE``: write the bundle's archive and say what to do with it."""
    if args.output or args.dashboard_url or args.source:
        raise ValueError("--archive only writes the archive: upload it, then deploy with --dashboard-url URL "
                         "--source <its URL>")
    archive = write_archive(bundle, args.archive)
    print(f"wrote {archive.path} ({len(archive.files)} files: pyproject.toml, modelmon/ and the functions' "
          f"handler folders; no function.yaml)")
    print("\nupload it where the dashboard's builder can download it without credentials, then:")
    print(f"  modelmon deploy --dashboard-url <dashboard> --source https://<host>/<path>/{archive.path.name}")
    print(f"  (or export {ENV_SOURCE}=https://<host>/<path>/{archive.path.name}: the SDK's nuclio target and the "
          "quick-start notebook read it too)")
    return 0


def access_key_of(args: argparse.Namespace) -> AccessKey:
    """The ``V3IO_ACCESS_KEY`` source the options name (a plain value only for a dashboard deploy)."""
    if args.access_key in (None, "secret"):
        return AccessKey.parse_secret(args.access_key_secret or f"{DEFAULT_SECRET}/{DEFAULT_SECRET_KEY}")
    if args.access_key_secret:
        raise ValueError("--access-key-secret: only with --access-key secret")
    if args.output:
        return AccessKey.nuctl_env()
    if not os.environ.get(ENV_V3IO_ACCESS_KEY, "").strip():
        raise ValueError(f"--access-key env: ${ENV_V3IO_ACCESS_KEY} is not set in this shell")
    return AccessKey.from_value(os.environ[ENV_V3IO_ACCESS_KEY])


def _postgres_needs(settings: Settings, password: PostgresPassword) -> str:
    brokers = ",".join(settings.kafka_brokers)
    kafka = KafkaCredentials(settings.kafka_security, password.secret or PG_SECRET)
    return (f"$NUCTL_REGISTRY names the image registry; {password.describe()}; "
            f"{kafka.describe() + '; ' if kafka.needed else ''}the functions reach Kafka at "
            f"{brokers}, PostgreSQL and {settings.samples_url} (S3 credentials: the pods' role or AWS_* env)")


def _shown(path: Path) -> Path:
    """``path`` relative to the current directory when it lies under it (``.`` for the directory itself)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _needs(platform: str, access_key: AccessKey | None) -> str:
    assert access_key is not None, "a deploy on V3IO always names where the access key comes from"
    registry = "$NUCTL_REGISTRY names the image registry; " if platform == "kube" else ""
    if access_key.source == "secret":
        return (f"{registry}the secret {access_key.secret!r} with key {access_key.key!r} must hold the V3IO access "
                "key in the functions' namespace")
    return f"{registry}${ENV_V3IO_ACCESS_KEY} must be set in the shell that runs them"


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
