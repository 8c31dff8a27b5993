"""Base class for monitoring apps built on Evidently 0.7 (the optional ``evidently`` extra).

Evidently is imported lazily, so modelmon works without it; an app built on this class checks the
installed version when constructed: the supported minor (0.7.x) is fine, a newer minor warns, anything
else is a :class:`~modelmon.core.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import warnings
from typing import Any

from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
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


class EvidentlyModelMonitoringApplicationBase(ModelMonitoringApplicationBase):
    """Subclass this to monitor with Evidently: implement ``do_tracking`` and log Evidently snapshots.

    :param evidently_workspace_path: a local Evidently workspace directory (optional); snapshots added
        with :meth:`add_to_workspace` go there, under ``evidently_project_id``.
    :param evidently_project_id: the Evidently project id in that workspace.
    """

    def __init__(self, evidently_workspace_path: str | None = None, evidently_project_id: str | None = None) -> None:
        if (evidently_workspace_path is None) != (evidently_project_id is None):
            raise ValueError("evidently_workspace_path and evidently_project_id go together: give both or neither")
        self.evidently_version = check_evidently_version()
        self.evidently_workspace_path = evidently_workspace_path
        self.evidently_project_id = evidently_project_id

    @functools.cached_property
    def evidently_workspace(self) -> Any:
        """The Evidently workspace (opened on first use)."""
        if self.evidently_workspace_path is None:
            raise ValueError("this app has no evidently_workspace_path")
        from evidently.ui.workspace import Workspace

        return Workspace.create(self.evidently_workspace_path)

    def add_to_workspace(self, snapshot: Any) -> None:
        """Add a snapshot (a run of an Evidently Report) to the configured workspace project."""
        self.evidently_workspace.add_run(self.evidently_project_id, snapshot)

    @staticmethod
    def log_evidently_object(
        monitoring_context: MonitoringApplicationContext,
        snapshot_or_report: Any,
        artifact_name: str,
        unique_per_endpoint: bool = True,
        *,
        format: str = "json",
    ) -> str:
        """Store an Evidently snapshot as an artifact of this window: JSON by default, HTML when asked.

        ``unique_per_endpoint=False`` stores one artifact per app and window, shared by all endpoints.
        """
        if format == "json":
            body = _call(snapshot_or_report, "json")
        elif format == "html":
            body = _call(snapshot_or_report, "get_html_str", as_iframe=False)
        else:
            raise ValueError(f"Evidently objects are stored as 'json' or 'html', not {format!r}")
        return monitoring_context.log_artifact(artifact_name, body, format=format,
                                               unique_per_endpoint=unique_per_endpoint)


def _call(evidently_object: Any, method: str, **kwargs: Any) -> str:
    """``evidently_object.method(**kwargs)``, or a clear error for objects that are not snapshots."""
    if not callable(getattr(evidently_object, method, None)):
        raise ValueError(f"expected an Evidently snapshot (the result of Report.run), got "
                         f"{type(evidently_object).__name__}")
    return str(getattr(evidently_object, method)(**kwargs))
