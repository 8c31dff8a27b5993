"""Every name that becomes a path, key, label or expression is matched in full: a trailing newline is refused.

(``re.match`` with ``$`` accepts ``"name\\n"``: ``$`` matches before a final newline.)
"""

from __future__ import annotations

import pytest

from modelmon.apps.registry import RegisteredApp
from modelmon.apps.sdk.artifacts import check_artifact_name
from modelmon.backends.v3io.expressions import check_attribute
from modelmon.backends.v3io.streams import committed_attribute
from modelmon.core.paths import MAX_NAME_LENGTH, check_name
from modelmon.core.results import check_result_name

CHECKS = {
    "path segment": lambda name: check_name(name, "endpoint id"),
    "result name": check_result_name,
    "artifact name": check_artifact_name,
    "KV attribute": check_attribute,
    "consumer group": committed_attribute,
    "app class path": lambda path: RegisteredApp(name="app", class_path=path),
}
GOOD = {"path segment": "ep-1.v2", "result name": "drift_1", "artifact name": "table.parquet",
        "KV attribute": "watermark_ms", "consumer group": "writer-1", "app class path": "pkg.mod:App"}


@pytest.mark.parametrize("what", sorted(CHECKS))
def test_a_valid_name_passes(what):
    CHECKS[what](GOOD[what])


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\x00"])
@pytest.mark.parametrize("what", sorted(CHECKS))
def test_a_name_with_a_trailing_control_character_or_space_is_refused(what, suffix):
    with pytest.raises(ValueError):
        CHECKS[what](GOOD[what] + suffix)


def test_a_path_segment_may_be_128_characters_long_not_more():
    assert check_name("e" * MAX_NAME_LENGTH, "endpoint id") == "e" * MAX_NAME_LENGTH
    with pytest.raises(ValueError, match="use 1-128 letters"):
        check_name("e" * 300, "endpoint id")
