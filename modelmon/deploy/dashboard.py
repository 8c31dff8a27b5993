"""Deploying rendered configs to a Nuclio dashboard through nuclio-jupyter's ``deploy_config``.

``deploy_config`` creates the project if needed, creates or updates the function and polls it until
its state is ``ready``, ``error`` or ``unhealthy``. When a deployment fails its exception carries
the HTTP body of the create call, not the reason; we read the function's ``status.message`` from
the dashboard and raise :class:`DeploymentFailed` naming the function and that message.
Credentials go through nuclio-jupyter's own ``V3IO_ACCESS_KEY`` handling and are never logged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import requests
from nuclio import deploy as nuclio_deploy
from nuclio.utils import DeployError

from modelmon.core.errors import DeploymentFailed
from modelmon.deploy.code_source import MISSING, has_code_entry
from modelmon.deploy.render import RenderedFunction


@dataclasses.dataclass(frozen=True)
class FunctionState:
    """A function's state on the dashboard after a deployment."""

    function: str
    name: str
    state: str
    message: str = ""
    internal_urls: tuple[str, ...] = ()
    external_urls: tuple[str, ...] = ()


def check_dashboard_url(dashboard_url: str) -> str:
    """``dashboard_url`` without a trailing '/', or ``ValueError`` naming ``dashboard_url``."""
    if not isinstance(dashboard_url, str) or not dashboard_url.startswith(("http://", "https://")):
        raise ValueError(f"dashboard_url {dashboard_url!r} must be an http:// or https:// URL")
    return dashboard_url.rstrip("/")


def deploy_function(function: RenderedFunction, dashboard_url: str, *, wait: bool = True) -> FunctionState:
    """Create or update one function and (``wait``) poll until it is ready; :class:`DeploymentFailed` if not.

    Without ``wait`` the returned state is whatever the dashboard reports right after the request. A config
    that names no code (:func:`~modelmon.deploy.code_source.has_code_entry`) is refused (``ValueError``): the
    dashboard's builder would have nothing to build.
    """
    url = check_dashboard_url(dashboard_url)
    if not has_code_entry(function.config):
        raise ValueError(f"function {function.function!r}: its config names no code. {MISSING}")
    try:
        addresses = nuclio_deploy.deploy_config(
            function.config,
            url,
            name=function.name,
            project=function.project,
            create_new=True,
            watch=wait,
            return_address_mode=nuclio_deploy.ReturnAddressModes.all,
        )
    except DeployError as exc:
        raise DeploymentFailed(function.function, _reason(url, function.name, exc)) from None
    except (OSError, requests.RequestException) as exc:
        raise DeploymentFailed(function.function, f"cannot reach the dashboard at {url} ({exc})") from None
    if addresses is None:
        return function_state(url, function)
    internal, external = addresses
    return FunctionState(function.function, function.name, "ready", "", tuple(internal), tuple(external))


def deploy_all(functions: Iterable[RenderedFunction], dashboard_url: str) -> list[FunctionState]:
    """Deploy each function in order; the first failure stops and raises :class:`DeploymentFailed`."""
    return [deploy_function(f, dashboard_url) for f in functions]


def function_state(dashboard_url: str, function: RenderedFunction) -> FunctionState:
    """The function's current state on the dashboard (``"missing"`` if it does not exist)."""
    status = _status(check_dashboard_url(dashboard_url), function.name)
    if status is None:
        return FunctionState(function.function, function.name, "missing")
    return FunctionState(
        function.function,
        function.name,
        str(status.get("state", "")),
        str(status.get("message", "")),
        tuple(status.get("internalInvocationUrls") or ()),
        tuple(status.get("externalInvocationUrls") or ()),
    )


def delete_function(dashboard_url: str, name: str) -> bool:
    """Delete the Nuclio function ``name``; ``False`` if it did not exist."""
    url = check_dashboard_url(dashboard_url)
    if _status(url, name) is None:
        return False
    try:
        nuclio_deploy.delete_func(name, url)
    except DeployError as exc:
        raise DeploymentFailed(name, f"delete failed: {_response_text(exc) or exc}") from None
    return True


def _status(url: str, name: str) -> dict[str, Any] | None:
    api = nuclio_deploy.find_dashboard_url(url)
    try:
        resp = nuclio_deploy.get_function(api, name)
    except (OSError, requests.RequestException) as exc:
        raise DeploymentFailed(name, f"cannot reach the dashboard at {url} ({exc})") from None
    if resp.status_code == 404:
        return None
    if not resp.ok:
        raise DeploymentFailed(name, f"dashboard answered {resp.status_code}: {resp.text.strip()}")
    return resp.json().get("status") or {}


def _reason(url: str, name: str, exc: DeployError) -> str:
    """The dashboard's reason for a failed deployment: the function's status message if it has one."""
    try:
        status = _status(url, name)
    except DeploymentFailed:
        status = None
    if status and status.get("message"):
        return f"state {status.get('state', '?')}: {status['message']}"
    text = _response_text(exc)
    return f"{exc}: {text}" if text and text not in str(exc) else str(exc)


def _response_text(exc: DeployError) -> str:
    response = getattr(exc.err, "response", None) if exc.err is not None else None
    return response.text.strip() if response is not None and response.text else ""
