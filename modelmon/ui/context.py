"""What every route of ``modelmon ui`` shares: the home's settings, its backend, the project and the token."""

from __future__ import annotations

import dataclasses

from modelmon.backends.base import Backend
from modelmon.core.config import Settings


@dataclasses.dataclass
class UIContext:
    """One served project. ``token`` set = every request must carry it (see :mod:`modelmon.ui.auth`)."""

    settings: Settings
    backend: Backend
    project: str
    token: str | None = None
