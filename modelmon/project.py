"""The project SDK: MLRun's model-monitoring verbs over modelmon's functions.

::

    project = modelmon.get_or_create_project("fraud", home=".modelmon")             # local target
    project = modelmon.get_or_create_project("fraud", target="nuclio", dashboard_url="http://nuclio:8070")
    project.enable_model_monitoring(base_period=10)
    project.set_model_monitoring_function(func="my_app.py", application_class="MyApp", name="my-app")
    project.get_results()

The project record (base period, target, running functions) is kept in
``<home>/projects/<name>/project.json``; credentials in an owner-only file next to it. On the local
target the functions run in the home's background service (:mod:`modelmon.service`), which outlives this
process: ``project.stop_local_service()`` or ``modelmon down`` stops it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from modelmon import queries
from modelmon.alerts.activations import activations_frame
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.apps.registry import AppRegistry, RegisteredApp
from modelmon.apps.source import AppSource, default_app_name, resolve_app, validate_app
from modelmon.backends import Backend, make_backend
from modelmon.core.config import DEFAULT_HOME, ENV_APP_CLASS, ENV_BACKEND, ENV_KAFKA_BROKERS, Settings
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths, check_name
from modelmon.core.project_record import read_record, write_record
from modelmon.core.timeutil import now_ms, to_ms
from modelmon.deploy.access_key import choose_access_key
from modelmon.deploy.code_source import source_from
from modelmon.deploy.credentials import Credentials, credentials_file, load_credentials, save_credentials
from modelmon.deploy.dashboard import FunctionState
from modelmon.deploy.postgres_stores import SDK_NAMES, check_postgres_stores, password_secret, refuse_access_key
from modelmon.deploy.render import (
    FunctionTemplate,
    RenderedFunction,
    default_bundle_dir,
    load_templates,
    render_app,
    render_function,
    role_template,
    with_role,
)
from modelmon.deploy.targets import LocalTarget, NuclioTarget, Target
from modelmon.endpoints.record import ModelEndpoint
from modelmon.functions.roles import Role
from modelmon.service import ServiceInfo
from modelmon.service.desired import function_files, restore_function

HISTOGRAM_APP_CLASS = "HistogramDataDriftApplication"
TARGETS = ("local", "nuclio")


def get_or_create_project(
    name: str,
    *,
    home: str | Path | None = None,
    backend: str | None = None,
    target: str = "local",
    dashboard_url: str | None = None,
    bundle_dir: str | Path | None = None,
    controller_interval: str | None = None,
    access_key: str | None = None,
    access_key_secret: str | None = None,
    source: str | None = None,
    postgres_password_secret: str | None = None,
    create_topics: bool = False,
) -> Project:
    """The project ``name`` stored under ``home`` (created on first use).

    ``backend``: where results are stored; default ``$MODELMON_BACKEND``, else ``v3io`` on the nuclio target
    and ``local`` on the local one.

    ``controller_interval`` (local target only, e.g. ``"1s"``): how often the controller looks for closed
    windows, instead of once per base period; for traffic whose event times lie in the past.

    ``access_key`` (nuclio target only): where the deployed functions' ``V3IO_ACCESS_KEY`` comes from, as
    ``modelmon deploy --access-key``: ``"secret"`` (default; the Kubernetes secret ``access_key_secret``,
    ``"NAME[/KEY]"``, default ``modelmon-credentials/access-key``), ``"env"`` (this process's
    ``$V3IO_ACCESS_KEY``, sent to the dashboard) or ``"credentials"`` (the key stored with
    :meth:`Project.set_model_monitoring_credentials`, read at each deployment).

    ``source`` (nuclio target only): where the dashboard's builder gets modelmon, as ``modelmon deploy
    --source`` (default ``$MODELMON_SOURCE``): an archive URL, ``git+URL@branch`` or ``image:NAME``
    (:mod:`modelmon.deploy.code_source`). Deploying without one is refused.

    On the nuclio target with ``backend="postgres"`` the functions get the stores of this process's environment
    (``MODELMON_POSTGRES_DSN`` without a password, ``MODELMON_KAFKA_BROKERS``, ``MODELMON_SAMPLES_URL``, optional
    ``MODELMON_S3_ENDPOINT_URL``), ``kafka-cluster`` triggers, and ``PGPASSWORD`` from the Kubernetes secret
    ``postgres_password_secret`` (``"NAME[/KEY]"``, default ``modelmon-credentials/postgres-password``; ``"none"``
    sets none), as ``modelmon deploy --kafka --postgres --samples-url``; ``create_topics=True`` creates the topics
    their triggers read before each deployment, as ``--create-topics``. An incoherent setting (a DSN holding a
    password, no brokers or samples URL, an access key) is a ``ValueError`` when the project is opened.
    """
    check_name(name, "name")
    if target not in TARGETS:
        raise ValueError(f"target {target!r}: expected one of {', '.join(TARGETS)}")
    if target == "nuclio" and not dashboard_url:
        raise ValueError("dashboard_url is required with target='nuclio'")
    if controller_interval is not None and target != "local":
        raise ValueError("controller_interval is only for target='local' (on Nuclio it is the base period)")
    if (access_key is not None or access_key_secret is not None) and target != "nuclio":
        raise ValueError("access_key is only for target='nuclio' (local functions use this process's V3IO settings)")
    if source is not None and target != "nuclio":
        raise ValueError("source is only for target='nuclio' (local functions import the bundle directly)")
    if (postgres_password_secret is not None or create_topics) and target != "nuclio":
        raise ValueError("postgres_password_secret and create_topics are only for target='nuclio' (local functions "
                         "use this process's PostgreSQL settings; producers create their topics)")
    home_dir = Path(home if home is not None else DEFAULT_HOME)
    record = read_record(home_dir, name)
    if backend is None:  # as configured ($MODELMON_BACKEND: postgres with Kafka streams, say), else the target's
        backend = os.environ.get(ENV_BACKEND) or ("v3io" if target == "nuclio" else "local")
    # V3IO addresses and the access key come from the environment (V3IO_API, V3IO_FRAMESD, V3IO_ACCESS_KEY)
    settings = Settings.from_env(backend=backend, home=str(home_dir), project=name,
                        base_period_minutes=int(record.get("base_period_minutes", 10)))
    bundle = Path(bundle_dir) if bundle_dir is not None else default_bundle_dir()
    runner: Target
    if target == "nuclio":
        assert dashboard_url, "checked above"
        runner = _nuclio_target(settings, dashboard_url, bundle, access_key=access_key,
                                access_key_secret=access_key_secret, source=source,
                                postgres_password_secret=postgres_password_secret, create_topics=create_topics)
    else:
        runner = LocalTarget(home_dir, name, python_paths=[bundle], controller_interval=controller_interval)
    return Project(settings, runner, bundle)


def _nuclio_target(settings: Settings, dashboard_url: str, bundle: Path, *, access_key: str | None,
                   access_key_secret: str | None, source: str | None, postgres_password_secret: str | None,
                   create_topics: bool) -> NuclioTarget:
    """The dashboard target, its credentials chosen as ``modelmon deploy`` chooses them: on Kafka + PostgreSQL the
    same checks and ``PGPASSWORD`` secret (:mod:`modelmon.deploy.postgres_stores`), else the V3IO access key."""
    password = password_secret(postgres_password_secret, settings.backend, SDK_NAMES)
    if create_topics and not settings.kafka_brokers:
        raise ValueError(f"create_topics: only with Kafka streams (backend 'postgres' and ${ENV_KAFKA_BROKERS})")
    key = None
    if settings.backend == "postgres":
        check_postgres_stores(settings.postgres_dsn, settings.kafka_brokers, settings.samples_url, SDK_NAMES)
        refuse_access_key(access_key is not None or access_key_secret is not None, SDK_NAMES)
    else:
        stored = credentials_file(settings.home, settings.project)
        key = choose_access_key(access_key, access_key_secret, stored=lambda: load_credentials(stored).access_key)
    return NuclioTarget(dashboard_url, access_key=key, source=source_from(source), bundle_dir=bundle,
                        postgres_password=password, topic_brokers=settings.kafka_brokers if create_topics else ())


class Project:
    """One project's model monitoring: its functions, apps, credentials, endpoints and results."""

    def __init__(self, settings: Settings, target: Target, bundle_dir: Path) -> None:
        self.settings = settings
        self.target = target
        self.bundle_dir = bundle_dir
        self._backend: Backend | None = None

    def __repr__(self) -> str:
        return f"Project({self.name!r}, target={self.target.kind!r}, base_period={self.base_period})"

    @property
    def name(self) -> str:
        return self.settings.project

    @property
    def base_period(self) -> int:
        return self.settings.base_period_minutes

    def close(self) -> None:
        """Close the backend. Functions keep running: on the local target they belong to the home's service
        (:meth:`stop_local_service`, ``modelmon down``), on Nuclio to the platform."""
        self.target.close()
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------ monitoring functions

    def enable_model_monitoring(
        self,
        base_period: int = 10,
        *,
        deploy_histogram_data_drift_app: bool = True,
        wait_for_deployment: bool = False,
        image: str | None = None,
        deploy_alerts: bool | None = None,
    ) -> list[FunctionState]:
        """Bring up the stream, controller, writer and labels functions (and the histogram-drift app).

        The labels function (``log_labels`` → model-performance) comes up when the bundle has one. On the
        local target the home's service runs them (started here if needed) and keeps running every app
        already registered: calling this again in a new session drops none. The alerts function comes up
        with ``deploy_alerts=True`` or, by default, once there is something to alert on: a stored alert
        config or ``MODELMON_ALERT_WEBHOOK_URL`` in the environment (call this again after the first
        :meth:`store_alert_config`).
        """
        self._set_base_period(base_period)
        templates = load_templates(self.bundle_dir)
        functions = [self._render(self._core(role, templates), image) for role in Role.core_roles()]
        labels = role_template(templates, Role.LABELS)
        if labels is not None:
            functions.append(self._render(labels, image))
        alerts = role_template(templates, Role.ALERTS)
        if alerts is not None and (deploy_alerts if deploy_alerts is not None else self._has_alerts()):
            functions.append(self._render(alerts, image))
        if deploy_histogram_data_drift_app:
            histogram = self._histogram_template(templates)
            functions.append(self._render(histogram, image))
            self.registry.register(histogram.name, histogram.env(ENV_APP_CLASS) or "")
        return self.target.apply(functions, settings=self.settings, wait=wait_for_deployment)

    def disable_model_monitoring(
        self,
        *,
        delete_resources: bool = True,
        delete_stream_function: bool = False,
        delete_histogram_data_drift_app: bool = True,
        delete_user_applications: bool = False,
        user_application_list: Sequence[str] | None = None,
    ) -> list[str]:
        """Stop the controller and writer; the stream (and labels) functions stay unless ``delete_stream_function``.

        Without ``delete_resources`` nothing is deleted: every registered app is disabled instead,
        so the controller dispatches no more windows. Returns the functions removed.
        """
        if user_application_list is not None and not delete_user_applications:
            raise ValueError("user_application_list needs delete_user_applications=True")
        apps = {a.name: a for a in self.registry.list()}
        histogram = {n for n, a in apps.items() if a.class_path.endswith(f":{HISTOGRAM_APP_CLASS}")}
        if not delete_resources:
            for name in apps:
                self.registry.set_enabled(name, False)
            return []
        roles = [Role.CONTROLLER, Role.WRITER] + ([Role.STREAM] if delete_stream_function else [])
        templates = load_templates(self.bundle_dir)
        names = [self._core(role, templates).name for role in roles]
        labels = role_template(templates, Role.LABELS)
        if delete_stream_function and labels is not None:
            names.append(labels.name)
        alerts = role_template(templates, Role.ALERTS)
        if alerts is not None:  # it reads the writer's stream: it goes with the writer
            names.append(alerts.name)
        if delete_histogram_data_drift_app:
            names += sorted(histogram)
        if delete_user_applications:
            chosen = user_application_list if user_application_list is not None else sorted(set(apps) - histogram)
            unknown = [n for n in chosen if n not in apps]
            if unknown:
                raise ValueError(f"user_application_list: no registered app named {', '.join(unknown)}")
            names += list(chosen)
        for app in set(names) & set(apps):
            self.registry.remove(app)
        return self.target.remove(names, settings=self.settings)

    def update_model_monitoring_controller(self, base_period: int, *, image: str | None = None) -> FunctionState:
        """Change the base period in place: the controller is redeployed with the new cron interval."""
        for app in self.registry.list():
            if app.base_period_minutes and app.base_period_minutes % base_period:
                raise ValueError(f"base_period {base_period}: app {app.name!r} runs every "
                                 f"{app.base_period_minutes} min, which is not a multiple of it")
        self._set_base_period(base_period)
        controller = self._core(Role.CONTROLLER, load_templates(self.bundle_dir))
        (state,) = self.target.apply([self._render(controller, image)], settings=self.settings, wait=True)
        return state

    def stop_local_service(self, timeout: float = 30.0) -> ServiceInfo | None:
        """Stop the home's local service and every function it runs, for every project of the home (what
        ``modelmon down`` does); ``None`` if none was running. The desired functions stay on disk: the next
        ``enable_model_monitoring()``, app registration or ``modelmon up`` starts them all again."""
        if not isinstance(self.target, LocalTarget):
            raise ValueError(f"stop_local_service: project {self.name!r} runs on the {self.target.kind} target")
        return self.target.stop_service(timeout)

    # ---------------------------------------------------------------------------- applications

    def set_model_monitoring_function(
        self,
        func: str | Path | Sequence[str | Path] | None = None,
        application_class: Any = None,
        name: str | None = None,
        *,
        image: str | None = None,
        handler: str | None = None,
        requirements: Sequence[str] | None = None,
        endpoints: Sequence[str] | Mapping[str, Any] | None = None,
        base_period: int | None = None,
        with_repo: bool | None = None,
        tag: str | None = None,
        requirements_file: str | Path = "",
        **application_kwargs: Any,
    ) -> RegisteredApp:
        """Register an app with the controller and create its function; only that function (re)starts.

        ``func`` is the app's ``.py`` file, a folder (its ``.py`` files ship in their layout, so helper
        modules import as they do next to the app) or a list of ``.py`` files; MLRun's ``with_repo=True``
        with a file ships the file's folder. ``requirements_file`` adds its lines to ``requirements``;
        ``tag`` (MLRun's function tag) is accepted and not used. An app its function cannot build is
        refused with its error, and leaves everything as it was: a new app stays unregistered with no
        function, an app registered before keeps its registration and (on the local target) its running
        version.
        """
        del tag  # modelmon's functions have no tags
        if with_repo and isinstance(func, str | Path) and Path(func).is_file() and isinstance(application_class, str) \
                and ":" not in application_class:
            func, application_class = Path(func).parent, f"{Path(func).stem}:{application_class}"
        if requirements_file:
            lines = Path(requirements_file).read_text(encoding="utf-8").splitlines()
            requirements = [*(requirements or ()),
                            *(r.strip() for r in lines if r.strip() and not r.strip().startswith("#"))]
        function, source = self._app_function(func, application_class, name, image, handler, requirements,
                                              application_kwargs)
        selector = dict(endpoints) if isinstance(endpoints, Mapping) else {}
        listed = [] if endpoints is None or isinstance(endpoints, Mapping) else endpoints
        if isinstance(listed, str):
            raise ValueError("endpoints must be a list of endpoint names/ids or a label-selector dict")
        if base_period is not None and (not isinstance(base_period, int) or base_period < 1):
            raise ValueError(f"base_period {base_period!r} must be a whole number of minutes")
        # the function first: one that cannot start (its constructor raises at init) leaves a new app
        # unregistered, so the controller never queues windows for it; an existing app keeps its registration,
        # and on the local target the version it ran before is brought back
        known = {app.name for app in self.registry.list()}
        home = self.target.home if isinstance(self.target, LocalTarget) else None
        previous = function_files(home, self.name, function.function) if home is not None else None
        try:
            self.target.start_app(function, source, settings=self.settings)
        except Exception:
            if function.function not in known:
                self.target.remove([function.function], settings=self.settings)
            elif home is not None and previous is not None:
                restore_function(home, self.name, function.function, previous)
            raise
        return self.registry.register(function.function, source.class_path, kwargs=application_kwargs,
                                      endpoints=listed, label_selector=selector, base_period_minutes=base_period)

    def create_model_monitoring_function(
        self,
        func: str | Path | None = None,
        application_class: Any = None,
        name: str | None = None,
        *,
        image: str | None = None,
        handler: str | None = None,
        requirements: Sequence[str] | None = None,
        **application_kwargs: Any,
    ) -> RenderedFunction:
        """The app's function config, without registering or deploying it."""
        function, _ = self._app_function(func, application_class, name, image, handler, requirements,
                                         application_kwargs)
        return function

    def list_model_monitoring_functions(self) -> list[RegisteredApp]:
        """The registered apps, by name."""
        return self.registry.list()

    def remove_model_monitoring_function(self, name: str) -> None:
        """Unregister ``name`` and stop its function; its results stay."""
        self.registry.remove(name)
        self.target.remove([name], settings=self.settings)

    # ----------------------------------------------------------------------------- credentials

    def set_model_monitoring_credentials(
        self,
        *,
        access_key: str | None = None,
        stream_path: str | None = None,
        tsdb_connection: str | None = None,
        endpoint_store_connection: str | None = None,
        replace_creds: bool = False,
    ) -> list[str]:
        """Store credentials; refuses to overwrite existing ones unless ``replace_creds``. Returns the
        names of the fields now set (never their values).

        The stored ``access_key`` reaches functions deployed on Nuclio when the project was opened with
        ``get_or_create_project(..., target="nuclio", access_key="credentials")``; by default they use the
        secret reference."""
        new = Credentials(access_key, stream_path, tsdb_connection, endpoint_store_connection)
        if new.is_empty():
            raise ValueError("give at least one of access_key, stream_path, tsdb_connection, endpoint_store_connection")
        path = credentials_file(self.settings.home, self.name)
        current = load_credentials(path)
        clash = sorted(set(current.which()) & set(new.which()))
        if clash and not replace_creds:
            raise ValueError(f"replace_creds: credentials already set for {', '.join(clash)}; "
                             "pass replace_creds=True to overwrite them")
        merged = current.merged(new)
        save_credentials(path, merged)
        return merged.which()

    # ------------------------------------------------------------------------ endpoints, results

    def list_model_endpoints(self, *, name: str | None = None, labels: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One row per endpoint (optionally with this ``name`` and these ``labels``): the columns of
        :data:`modelmon.queries.ENDPOINT_COLUMNS`, each ``*_ms`` time also as a UTC ``Timestamp``."""
        endpoints = queries.list_endpoints(self.backend, self.name)
        if name is not None:
            endpoints = endpoints[endpoints["name"] == name]
        if labels:
            endpoints = endpoints[[all(own.get(k) == v for k, v in labels.items()) for own in endpoints["labels"]]]
        return queries.with_timestamps(endpoints.reset_index(drop=True))

    def get_model_endpoint(self, endpoint: str | None = None, *, function_name: str | None = None,
                           function_tag: str | None = None, endpoint_id: str | None = None) -> ModelEndpoint:
        """The endpoint record, by id or by name; a name that several endpoints have needs its
        ``function_name`` (and ``function_tag``) or the id, and its error lists the candidates.

        See :func:`modelmon.endpoints.registration.get_model_endpoint`.
        """
        from modelmon.endpoints.registration import get_model_endpoint

        return get_model_endpoint(self.backend, self.name, endpoint, function_name=function_name,
                                  function_tag=function_tag, endpoint_id=endpoint_id)

    def get_results(self, *, endpoint_id: str | None = None, app_name: str | None = None, history: bool = False,
                    since: Any = None, until: Any = None) -> pd.DataFrame:
        """The latest result per endpoint, app and result name, or every window's with ``history=True``
        (windows ending in ``[since, until)``).

        ``endpoint_id`` takes an id, a unique id prefix or a name. Columns: ``start``/``end`` (UTC
        ``Timestamp``) next to ``start_ms``/``end_ms``, ``endpoint_name`` after ``endpoint_id``, ``status``
        (int) and ``status_name``, ``kind`` and ``kind_name``, and each window's ``extra_data`` (dict).
        An unknown endpoint or app is ``NotFound`` naming those that exist.
        """
        endpoint, since_ms, until_ms = self._reader_args(endpoint_id, app_name, since, until)
        if history:
            df = queries.result_history(self.backend, self.name, endpoint_id=endpoint, app_name=app_name,
                                        since_ms=since_ms, until_ms=until_ms, extra_data=True)
        else:
            df = queries.latest_results(self.backend, self.name, endpoint_id=endpoint, app_name=app_name,
                                        since_ms=since_ms)
            if until_ms is not None:
                df = df[df["end_ms"] < until_ms].reset_index(drop=True)
        return self._readable(df, app_name)

    def get_metrics(self, *, endpoint_id: str | None = None, app_name: str | None = None, since: Any = None,
                    until: Any = None, latest: bool = False) -> pd.DataFrame:
        """Every window's metrics (what apps return as ``ModelMonitoringApplicationMetric`` or as a dict),
        ending in ``[since, until)``; with ``latest=True`` only each endpoint and app's latest window.

        Columns: ``endpoint_id``, ``endpoint_name``, ``app_name``, ``metric_name``, ``start``/``start_ms``,
        ``end``/``end_ms``, ``value``.
        """
        endpoint, since_ms, until_ms = self._reader_args(endpoint_id, app_name, since, until)
        if latest:
            df = queries.latest_metrics(self.backend, self.name, endpoint_id=endpoint, app_name=app_name,
                                        since_ms=since_ms)
            df = df if until_ms is None else df[df["end_ms"] < until_ms].reset_index(drop=True)
        else:
            df = queries.metric_history(self.backend, self.name, endpoint_id=endpoint, app_name=app_name,
                                        since_ms=since_ms, until_ms=until_ms)
        return self._readable(df, app_name)

    def get_feature_drift(self, *, endpoint_id: str | None = None, app_name: str | None = None, since: Any = None,
                          until: Any = None) -> pd.DataFrame:
        """Per window and feature, the values drift apps stored in ``extra_data`` (for the histogram-drift
        app: ``tvd``, ``hellinger``, ``kld``, ``status``/``status_name``, ``score``, ``threshold``,
        ``drifted``); see :func:`modelmon.result_frames.feature_drift`.

        Which features drifted at 15:28: ``df[(df.start <= t) & (t < df.end) & df.drifted]``.
        """
        from modelmon.result_frames import feature_drift

        endpoint, since_ms, until_ms = self._reader_args(endpoint_id, app_name, since, until)
        df = feature_drift(self.backend, self.name, endpoint_id=endpoint, app_name=app_name, since_ms=since_ms,
                           until_ms=until_ms)
        return self._readable(df, app_name)

    def get_results_frame(self, *, endpoint_id: str | None = None, app_name: str | None = None, since: Any = None,
                          until: Any = None, statuses: bool = False, metrics: bool = True) -> pd.DataFrame:
        """One endpoint's history as one wide frame: index ``start`` (window start, UTC ``Timestamp``),
        one ``"<app>.<result>"`` column of values per result (and ``"<app>.<metric>"`` per metric; with
        ``statuses=True`` a ``"<app>.<result>.status"`` column of status names after each result).

        ``endpoint_id`` (id or name) may be left out when the project's results are one endpoint's::

            frame = project.get_results_frame(endpoint_id="churn", since="1d")
            frame["histogram-data-drift.general_drift"].plot()
        """
        from modelmon.result_frames import results_frame

        endpoint, since_ms, until_ms = self._reader_args(endpoint_id, app_name, since, until)
        frame = results_frame(self.backend, self.name, endpoint_id=endpoint, app_name=app_name, since_ms=since_ms,
                              until_ms=until_ms, statuses=statuses, metrics=metrics)
        if frame.empty and app_name is not None:
            queries.check_app(self.backend, self.name, app_name)
        return frame

    def get_failures(self, *, endpoint_id: str | None = None, app_name: str | None = None,
                     since: Any = None) -> pd.DataFrame:
        """The windows an app failed on: ``error`` (message), ``error_type``, ``location`` (``file.py:LINE``
        in the app's code), ``traceback`` (full text), the window (``start``/``end``) and when (``time``).
        Failures stored by older versions have empty ``error_type``, ``location`` and ``traceback``."""
        endpoint, since_ms, _ = self._reader_args(endpoint_id, app_name, since, None)
        df = queries.app_failures(self.backend, self.name, endpoint_id=endpoint, app_name=app_name, since_ms=since_ms)
        return self._readable(df, app_name)

    def _reader_args(self, endpoint: str | None, app_name: str | None, since: Any,
                     until: Any) -> tuple[str | None, int | None, int | None]:
        """The endpoint id (from an id, id prefix or name; ``NotFound`` if none), ``since``/``until`` in ms
        (a time, epoch ms, or text: ISO or a duration back from now such as ``"2h"``)."""
        endpoint_id = None if endpoint is None else queries.resolve_endpoint(self.backend, self.name, endpoint)
        return endpoint_id, self._time_ms(since, "since"), self._time_ms(until, "until")

    @staticmethod
    def _time_ms(value: Any, what: str) -> int | None:
        if value is None:
            return None
        return queries.parse_since(value, now_ms(), what) if isinstance(value, str) else to_ms(value)

    def _readable(self, df: pd.DataFrame, app_name: str | None) -> pd.DataFrame:
        """``df`` with endpoint names and UTC timestamps; an empty read for an unknown app is ``NotFound``."""
        if df.empty and app_name is not None:
            queries.check_app(self.backend, self.name, app_name)
        return queries.with_timestamps(queries.with_endpoint_names(df, queries.endpoint_names(self.backend,
                                                                                                self.name)))

    def backfill(self, endpoint: str, since: Any, *, app: str | Sequence[str] | None = None) -> list[Any]:
        """Have the controller analyse ``endpoint``'s traffic (id or name) from ``since`` on: traffic older
        than the backfill horizon, or windows to analyse again. See :func:`modelmon.controller.backfill.backfill`.
        """
        from modelmon.controller.backfill import backfill

        apps = [app] if isinstance(app, str) else app
        endpoint_id = queries.resolve_endpoint(self.backend, self.name, endpoint)
        return backfill(self.backend, self.name, endpoint_id, since, apps=apps,
                        base_period_minutes=self.base_period)

    # ------------------------------------------------------ registration, labels, batch inference

    def register_model_endpoint(self, name: str, **kwargs: Any) -> ModelEndpoint:
        """Create or update endpoint ``name``: under ``endpoint_id=`` (the id MLRun 1.8+ traffic carries),
        else the one ``name`` and its function (``function_name=``, ``function_tag=``) already have.

        See :func:`modelmon.endpoints.registration.register_model_endpoint`.
        """
        from modelmon.endpoints.registration import register_model_endpoint

        return register_model_endpoint(self.backend, self.name, name, **kwargs)

    def log_labels(self, endpoint: str, request_ids: Sequence[str], labels: Any,
                   timestamps: Sequence[Any] | None = None) -> int:
        """Send ground truth for tracked requests; see :func:`modelmon.labels.matching.log_labels`."""
        from modelmon.labels.matching import log_labels

        return log_labels(self.backend, self.name, endpoint, request_ids, labels, timestamps)

    def batch_infer(self, dataset: Any, model: Any, **kwargs: Any) -> Any:
        """Predict a dataset and record it into monitoring; see :func:`modelmon.batch.inference.batch_infer`.

        Into the job's own endpoint the batch's last window is closed at once (``base_period_minutes``
        defaults to the project's). ``perform_drift_analysis=True`` stores the batch's windows' drift results
        (windows of the project's base period) like the controller's: ``get_results()`` shows them. The job's
        endpoint needs a reference for that: ``reference_data=...`` or ``self_reference=True``."""
        from modelmon.batch.inference import batch_infer

        kwargs.setdefault("base_period_minutes", self.base_period if kwargs.get("endpoint_id") is None else None)
        kwargs.setdefault("drift_period_minutes", self.base_period)
        return batch_infer(self.backend, self.name, dataset, model, **kwargs)

    # ---------------------------------------------------------------------------------- alerts

    def store_alert_config(self, config: AlertConfig | Mapping[str, Any]) -> AlertConfig:
        """Create or replace an alert config (an :class:`~modelmon.alerts.configs.AlertConfig` or its dict in
        MLRun's shape, validated: :class:`~modelmon.core.errors.ConfigError` names a bad field)."""
        parsed = config if isinstance(config, AlertConfig) else AlertConfig.from_dict(config)
        AlertConfigStore(self.backend.kv, ProjectPaths(self.name)).store(parsed)
        return parsed

    def get_alert_config(self, name: str) -> AlertConfig:
        """The stored config ``name``; :class:`NotFound` if there is none."""
        return AlertConfigStore(self.backend.kv, ProjectPaths(self.name)).get(name)

    def list_alerts_configs(self) -> list[AlertConfig]:
        """Every stored alert config, by name."""
        return AlertConfigStore(self.backend.kv, ProjectPaths(self.name)).list()

    def delete_alert_config(self, name: str) -> None:
        """Delete config ``name`` (its activations stay, as history); :class:`NotFound` if there is none."""
        AlertConfigStore(self.backend.kv, ProjectPaths(self.name)).delete(name)

    def reset_alert_config(self, name: str, endpoint: str | None = None) -> int:
        """Resolve config ``name``'s active activations (only ``endpoint``'s, by id or name, when given); the
        history records the manual reset and the alerts function notifies the config's channels. Returns how
        many were reset."""
        from modelmon.alerts.delivery import Deliveries
        from modelmon.alerts.evaluator import Evaluator

        paths = ProjectPaths(self.name)
        outbox = Deliveries(self.backend.kv, paths, clock=now_ms).enqueue
        return Evaluator(self.backend.kv, paths, refresh_s=0).reset(name, endpoint, outbox)

    def get_alert_activations(self, name: str | None = None, *, active: bool = False) -> pd.DataFrame:
        """One row per activation (config × endpoint × app × result), optionally of config ``name`` or only
        the ``active`` ones: state, severity, the window and value of the last transition (UTC timestamps),
        how often it activated, its summary and its ``history`` (a list of transitions)."""
        from modelmon.alerts.evaluator import Evaluator

        evaluator = Evaluator(self.backend.kv, ProjectPaths(self.name), refresh_s=0)
        items = evaluator.activations(config=name, active_only=active)
        return activations_frame(items)

    def _has_alerts(self) -> bool:
        """Whether there is anything to alert on: a stored config, or the quick-start webhook's variable."""
        import os

        from modelmon.core.config import ENV_ALERT_WEBHOOK_URL

        return bool(os.environ.get(ENV_ALERT_WEBHOOK_URL)) or bool(self.list_alerts_configs())

    # -------------------------------------------------------------------------------- internals

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = make_backend(self.settings)
        return self._backend

    @property
    def registry(self) -> AppRegistry:
        return AppRegistry(self.backend.kv, ProjectPaths(self.name), self.base_period)

    def _set_base_period(self, base_period: int) -> None:
        if isinstance(base_period, bool) or not isinstance(base_period, int) or base_period < 1:
            raise ValueError(f"base_period {base_period!r} must be a whole number of minutes >= 1")
        self.settings = dataclasses.replace(self.settings, base_period_minutes=base_period)
        write_record(self.settings.home, self.name, base_period_minutes=base_period, target=self.target.kind)

    def _core(self, role: Role, templates: Sequence[FunctionTemplate]) -> FunctionTemplate:
        """The bundle's function for a core ``role``; ``NotFound`` if the bundle lacks it."""
        template = role_template(templates, role)
        if template is None:
            raise NotFound(f"{self.bundle_dir}: the bundle has no function.yaml for the {role} function")
        return template

    def _render(self, template: FunctionTemplate, image: str | None) -> RenderedFunction:
        return render_function(template, self.settings, image=image)

    def _histogram_template(self, templates: Sequence[FunctionTemplate]) -> FunctionTemplate:
        """The histogram-drift app's function: deployed on enable, and the template of every other app."""
        for template in with_role(templates, Role.APP):
            if (template.env(ENV_APP_CLASS) or "").endswith(f":{HISTOGRAM_APP_CLASS}"):
                return template
        raise NotFound(f"{self.bundle_dir}: no app function runs {HISTOGRAM_APP_CLASS}")

    def _app_function(self, func: Any, application_class: Any, name: str | None, image: str | None,
                      handler: str | None, requirements: Sequence[str] | None,
                      kwargs: Mapping[str, Any]) -> tuple[RenderedFunction, AppSource]:
        source = resolve_app(func, application_class)
        app_name = check_name(name, "name") if name is not None else default_app_name(source.class_name)
        if requirements is not None and (isinstance(requirements, str) or not all(
                isinstance(r, str) for r in requirements)):
            raise ValueError("requirements must be a list of pip requirement strings")
        try:
            json.dumps(dict(kwargs))
        except TypeError as exc:
            raise ValueError(f"application_kwargs must be JSON-serialisable ({exc})") from None
        # before anything is written or started: an app its function cannot build is refused here
        validate_app(source, kwargs, module_must_import=self.target.kind == "local")
        function = render_app(self._histogram_template(load_templates(self.bundle_dir)), self.settings, app_name,
                              source.class_path, kwargs=kwargs, image=image, requirements=requirements or (),
                              handler=handler, source_file=str(source.origin) if source.origin else None)
        self.target.package_app(function, source)
        return function, source
