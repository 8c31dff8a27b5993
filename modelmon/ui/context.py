"""What every route of ``modelmon ui`` shares: the home's settings, its backend, the project and the token,
plus small cached lookups (the registered apps, the base period)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from modelmon.apps.registry import AppRegistry, RegisteredApp
from modelmon.backends.base import Backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.service.status import project_timing

T = TypeVar("T")
#: How long the registered apps are reused between requests.
APPS_CACHE_MS = 5_000
_CACHE_SIZE = 16


@dataclasses.dataclass
class UIContext:
    """One served project. ``token`` set = every request must carry it (see :mod:`modelmon.ui.auth`).
    ``clock`` gives "now" in epoch ms (tests pin it)."""

    settings: Settings
    backend: Backend
    project: str
    token: str | None = None
    clock: Callable[[], int] = now_ms

    DRIFT_CLASS = "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication"
    PERFORMANCE_CLASS = "modelmon.apps.builtin.system_performance:SystemPerformanceApplication"
    QUALITY_CLASS = "modelmon.apps.builtin.data_quality:DataQualityApplication"
    #: The names the built-in apps are registered under by default, recognised even when not registered.
    DEFAULT_NAMES = {DRIFT_CLASS: "histogram-data-drift", PERFORMANCE_CLASS: "system-performance",
                     QUALITY_CLASS: "data-quality"}

    def __post_init__(self) -> None:
        self.paths = ProjectPaths(self.project)
        self._cache: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self.clock()

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept under ``key`` (put a time bucket in the key to expire it); a few keys are kept."""
        with self._lock:
            if key in self._cache:
                value: T = self._cache[key]
                return value
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
        return value

    def apps(self) -> list[RegisteredApp]:
        """The registered apps (read at most every :data:`APPS_CACHE_MS`)."""
        return self.cached(("apps", self.now_ms() // APPS_CACHE_MS),
                           lambda: AppRegistry(self.backend.kv, self.paths).list())

    def apps_of_class(self, class_path: str) -> list[str]:
        """Names of the apps registered with ``class_path``, and the class's default name."""
        names = [app.name for app in self.apps() if app.class_path == class_path]
        default = self.DEFAULT_NAMES.get(class_path)
        return [*names, default] if default is not None and default not in names else names

    def base_period_minutes(self) -> int:
        return project_timing(self.settings, self.project).base_period_minutes

    def longest_period_ms(self) -> int:
        """The longest window of the registered apps (the base period when none is registered)."""
        base = self.base_period_minutes()
        return max([(app.base_period_minutes or base) * 60_000 for app in self.apps()] + [base * 60_000])
