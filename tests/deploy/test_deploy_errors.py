from __future__ import annotations

import modelmon.deploy
from modelmon.core.errors import DeploymentFailed, ModelmonError


def test_deployment_failed_lives_with_the_other_errors_and_is_re_exported():
    assert modelmon.deploy.DeploymentFailed is DeploymentFailed
    error = DeploymentFailed("writer", "state error: OOMKilled")
    assert isinstance(error, ModelmonError)
    assert (error.function, error.message) == ("writer", "state error: OOMKilled")
    assert str(error) == "deploying function 'writer' failed: state error: OOMKilled"
