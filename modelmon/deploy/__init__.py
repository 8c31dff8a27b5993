"""Packaging and deployment: the Nuclio config schema, per-project rendering, dashboard deploys."""

from __future__ import annotations

from modelmon.core.errors import DeploymentFailed  # re-exported: raised by deploy_function and friends
from modelmon.core.paths import deployed_name  # re-exported: it lives with the other names, for the functions
from modelmon.deploy.archive import write_archive
from modelmon.deploy.code_source import CodeSource, parse_source
from modelmon.deploy.dashboard import (
    FunctionState,
    delete_function,
    deploy_all,
    deploy_function,
    function_state,
)
from modelmon.deploy.render import (
    FunctionTemplate,
    RenderedFunction,
    load_templates,
    render_app,
    render_bundle,
    render_function,
    write_configs,
)
from modelmon.deploy.schema import check_config, validate_config

__all__ = [
    "CodeSource",
    "DeploymentFailed",
    "FunctionState",
    "FunctionTemplate",
    "RenderedFunction",
    "check_config",
    "delete_function",
    "deploy_all",
    "deploy_function",
    "deployed_name",
    "function_state",
    "load_templates",
    "parse_source",
    "render_app",
    "render_bundle",
    "render_function",
    "validate_config",
    "write_archive",
    "write_configs",
]
