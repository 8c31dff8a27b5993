"""Base class for monitoring apps built on Evidently 0.7 (the optional ``evidently`` extra).

Evidently is imported lazily, so modelmon works without it; an app built on this class checks the
installed version when constructed: the supported minor (0.7.x) is fine, a newer minor warns, anything
else is a :class:`~modelmon.core.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import html
import importlib.metadata
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.core.config import DEFAULT_HOME
from modelmon.core.errors import ConfigError

SUPPORTED_EVIDENTLY_VERSION = "0.7"


class EvidentlyVersionWarning(UserWarning):
    """The installed Evidently is newer than the supported minor version: it may work, it is untested."""


def check_evidently_version(installed: str | None = None, supported: str = SUPPORTED_EVIDENTLY_VERSION) -> str:
    """The installed Evidently version, after checking it against ``supported`` ("major.minor").

    >>> check_evidently_version("0.7.23")
    '0.7.23'
    """
    if installed is None:
        try:
            installed = importlib.metadata.version("evidently")
        except importlib.metadata.PackageNotFoundError:
            raise ConfigError("Evidently is not installed: pip install 'modelmon[evidently]'") from None
    have, want = _major_minor(installed), _major_minor(supported)
    if have == want:
        return installed
    if have[0] == want[0] and have[1] > want[1]:
        warnings.warn(f"Evidently {installed} is newer than the supported {supported}.x; results may differ",
                      EvidentlyVersionWarning, stacklevel=2)
        return installed
    raise ConfigError(f"Evidently {installed} is not supported: install evidently>={supported},<{want[0]}."
                      f"{want[1] + 1} (pip install 'modelmon[evidently]')")


def _major_minor(version: str) -> tuple[int, int]:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise ConfigError(f"cannot read the Evidently version {version!r}") from None


class EvidentlyCloudWarning(UserWarning):
    """``cloud_workspace=True`` asked for Evidently Cloud; modelmon keeps the runs in a local workspace."""


#: Where the runs of an app that asked for Evidently Cloud go when it names no local workspace.
CLOUD_STANDIN_DIR = "evidently-workspace"


class EvidentlyModelMonitoringApplicationBase(ModelMonitoringApplicationBase):
    """Subclass this to monitor with Evidently: implement ``do_tracking`` and log Evidently snapshots.

    MLRun's arguments, in MLRun's order:

    :param evidently_project_id: the Evidently project in the workspace (``evidently_project`` loads it,
        ``None`` when the workspace has no such project: the app may create it).
    :param evidently_workspace_path: a local Evidently workspace directory; runs added with
        :meth:`add_to_workspace` (or ``self.evidently_workspace.add_run``) go there.
    :param cloud_workspace: MLRun's Evidently Cloud workspace. modelmon does not reach Evidently Cloud: the
        runs go to the local ``evidently_workspace_path``, or to ``<MODELMON_HOME>/evidently-workspace``,
        with an :class:`EvidentlyCloudWarning` saying where.
    """

    def __init__(self, evidently_project_id: Any = None, evidently_workspace_path: str | None = None,
                 cloud_workspace: bool = False) -> None:
        self.evidently_version = check_evidently_version()
        if cloud_workspace and evidently_workspace_path is None:
            home = os.environ.get("MODELMON_HOME", DEFAULT_HOME)
            evidently_workspace_path = str(Path(home) / CLOUD_STANDIN_DIR)
        if cloud_workspace:
            warnings.warn(f"cloud_workspace=True: modelmon keeps Evidently runs in the local workspace "
                          f"{evidently_workspace_path}, not in Evidently Cloud", EvidentlyCloudWarning, stacklevel=2)
        elif evidently_project_id is not None and evidently_workspace_path is None:
            raise ValueError("evidently_project_id needs a workspace: give evidently_workspace_path (a local "
                             "directory), or cloud_workspace=True for modelmon's local stand-in")
        self.evidently_workspace_path = evidently_workspace_path
        self.evidently_project_id = evidently_project_id
        self.cloud_workspace = cloud_workspace

    @functools.cached_property
    def evidently_workspace(self) -> Any:
        """The Evidently workspace (opened on first use)."""
        return self.get_workspace()

    @functools.cached_property
    def evidently_project(self) -> Any:
        """The Evidently project ``evidently_project_id`` (``None`` when the workspace has none of that id)."""
        return self.load_project()

    def get_workspace(self) -> Any:
        """The local workspace at ``evidently_workspace_path`` (MLRun's hook: override for another workspace)."""
        if self.evidently_workspace_path is None:
            raise ValueError("this app has no evidently_workspace_path (a local Evidently workspace directory)")
        from evidently.ui.workspace import Workspace

        return Workspace.create(self.evidently_workspace_path)

    def load_project(self) -> Any:
        """The project ``evidently_project_id`` of the workspace, or ``None`` (MLRun's hook)."""
        if self.evidently_project_id is None:
            return None
        return self.evidently_workspace.get_project(self.evidently_project_id)

    def add_to_workspace(self, snapshot: Any) -> None:
        """Add a snapshot (a run of an Evidently Report) to the configured workspace project."""
        if self.evidently_project_id is None:
            raise ValueError("add_to_workspace needs evidently_project_id")
        self.evidently_workspace.add_run(self.evidently_project_id, snapshot)

    @staticmethod
    def log_evidently_object(
        monitoring_context: MonitoringApplicationContext,
        evidently_object: Any,
        artifact_name: str,
        unique_per_endpoint: bool = True,
        *,
        format: str = "html",
    ) -> str:
        """Store an Evidently snapshot as an artifact of this window: an HTML report as MLRun writes it, or
        its JSON with ``format="json"``.

        ``unique_per_endpoint=False`` stores one artifact per app and window, shared by all endpoints.
        """
        if format == "json":
            body = _call(evidently_object, "json")
        elif format == "html":
            body = _call(evidently_object, "get_html_str", as_iframe=False)
        else:
            raise ValueError(f"Evidently objects are stored as 'json' or 'html', not {format!r}")
        return monitoring_context.log_artifact(artifact_name, body, format=format,
                                               unique_per_endpoint=unique_per_endpoint)

    def log_project_dashboard(
        self,
        monitoring_context: MonitoringApplicationContext,
        timestamp_start: Any,
        timestamp_end: Any,
        artifact_name: str = "dashboard",
    ) -> str:
        """Store one HTML page with the reports of the project's runs timed in ``[timestamp_start,
        timestamp_end]``, oldest first (MLRun renders Evidently's project dashboard, which Evidently 0.7
        no longer builds outside its UI)."""
        from evidently.core.report import Snapshot

        if self.evidently_project_id is None:
            raise ValueError("log_project_dashboard needs evidently_project_id")
        start, end = pd.Timestamp(timestamp_start), pd.Timestamp(timestamp_end)
        workspace = self.evidently_workspace
        runs = [workspace.get_run(self.evidently_project_id, run_id)
                for run_id in workspace.list_runs(self.evidently_project_id)]
        chosen = sorted((r for r in runs if r is not None and _within(r.timestamp, start, end)),
                        key=lambda r: pd.Timestamp(r.timestamp))
        sections = [
            f"<h2>{html.escape(str(run.timestamp))}</h2>\n<iframe style=\"width:100%;height:900px;border:0\" "
            f"srcdoc=\"{html.escape(Snapshot.load_model(run).get_html_str(as_iframe=False))}\"></iframe>"
            for run in chosen
        ]
        title = html.escape(f"Evidently project {self.evidently_project_id}: {start} to {end}")
        page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n"
                f"<h1>{title}</h1>\n<p>{len(chosen)} run(s)</p>\n" + "\n".join(sections) + "\n</body></html>\n")
        return monitoring_context.log_artifact(artifact_name, page, format="html")


def _within(timestamp: Any, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether ``timestamp`` lies in ``[start, end]``, naive times read as UTC."""
    def utc(t: Any) -> pd.Timestamp:
        t = pd.Timestamp(t)
        out: pd.Timestamp = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return out

    return utc(start) <= utc(timestamp) <= utc(end)


def _call(evidently_object: Any, method: str, **kwargs: Any) -> str:
    """``evidently_object.method(**kwargs)``, or a clear error for objects that are not snapshots."""
    if not callable(getattr(evidently_object, method, None)):
        raise ValueError(f"expected an Evidently snapshot (the result of Report.run), got "
                         f"{type(evidently_object).__name__}")
    return str(getattr(evidently_object, method)(**kwargs))
