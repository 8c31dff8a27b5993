"""Where the local service keeps its files under a modelmon home.

::

    <home>/service/lock                               held (flock) by the running service
    <home>/service/state.json                         what it runs, rewritten about every second
    <home>/logs/service.log                           the service's own log
    <home>/logs/<project>/<function>.log              each function's stdout and stderr, rotated
    <home>/projects/<project>/functions/<function>/   the desired state: function.yaml, the app's files,
                                                      service.json (written by the SDK)

>>> layout = HomeLayout("/data/mm")
>>> str(layout.function_log("fraud", "model-monitoring-writer"))
'/data/mm/logs/fraud/model-monitoring-writer.log'
>>> str(layout.functions_dir("fraud"))
'/data/mm/projects/fraud/functions'
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class HomeLayout:
    """The service's paths under one home (made absolute: the service runs in another directory)."""

    home: Path

    def __init__(self, home: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "home", Path(os.path.abspath(home)))

    @property
    def service_dir(self) -> Path:
        return self.home / "service"

    @property
    def lock(self) -> Path:
        return self.service_dir / "lock"

    @property
    def state(self) -> Path:
        return self.service_dir / "state.json"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def service_log(self) -> Path:
        return self.logs_dir / "service.log"

    def project_logs(self, project: str) -> Path:
        return self.logs_dir / project

    def function_log(self, project: str, function: str) -> Path:
        return self.project_logs(project) / f"{function}.log"

    @property
    def projects_dir(self) -> Path:
        return self.home / "projects"

    def functions_dir(self, project: str) -> Path:
        return self.projects_dir / project / "functions"
