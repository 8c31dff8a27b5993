"""``set_model_monitoring_function(func=...)`` with a folder or a list of files (issue 21): an LLM-judge app
whose prompt and scoring live in helper modules next to it ships whole, on the local target and inside the
one source file Nuclio's source-code entry takes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelmon
from modelmon.apps.source import embed_source, resolve_app, validate_app

REPO = Path(__file__).resolve().parents[2]

APP = '''\
"""An LLM judge: scores each answer with a stub model (the prompt and the parsing live in helper modules)."""

from __future__ import annotations

from modelmon import ModelMonitoringApplicationBaseV2, ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from prompts import JUDGE_PROMPT
from scoring.parse import parse_score


class StubModel:
    def invoke(self, prompt: str) -> str:
        return "Score: 4" if "capital" in prompt else "no idea"


class LLMJudgeApp(ModelMonitoringApplicationBaseV2):
    def __init__(self, model: str = "stub") -> None:
        self.model = StubModel()

    def do_tracking(self, monitoring_context):
        df = monitoring_context.sample_df
        scores = [parse_score(self.model.invoke(JUDGE_PROMPT.format(question=q))) for q in df["question"]]
        known = [s for s in scores if s is not None]
        mean = sum(known) / len(known) if known else float("nan")
        return [ModelMonitoringApplicationResult(name="judge_score", value=mean, kind=ResultKindApp.model_performance,
                                                 status=ResultStatusApp.no_detection, extra_data={"scores": scores})]
'''
PROMPTS = 'JUDGE_PROMPT = "Rate the answer to: {question}"\n'
PARSE = '''\
import re

from scoring import SCALE


def parse_score(reply: str):
    found = re.search(r"Score: (\\d)", reply)
    return int(found.group(1)) / SCALE if found else None
'''


def _judge_folder(root: Path) -> Path:
    folder = root / "llm_judge"
    (folder / "scoring").mkdir(parents=True)
    (folder / "llm_judge_app.py").write_text(APP)
    (folder / "prompts.py").write_text(PROMPTS)
    (folder / "scoring" / "__init__.py").write_text("SCALE = 5\n")
    (folder / "scoring" / "parse.py").write_text(PARSE)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "prompts.cpython-311.pyc").write_bytes(b"stale")
    (folder / "notes.txt").write_text("not shipped")
    return folder


def test_a_folder_ships_its_python_files_in_their_layout_and_the_app_builds(tmp_path):
    folder = _judge_folder(tmp_path)
    source = resolve_app(str(folder), "LLMJudgeApp")
    assert source.class_path == "llm_judge_app:LLMJudgeApp"
    assert sorted(source.files) == ["llm_judge_app.py", "prompts.py", "scoring/__init__.py", "scoring/parse.py"]
    cls = validate_app(source, {"model": "stub"})
    assert cls is not None and cls.__name__ == "LLMJudgeApp"
    # checked from a throwaway copy: no module of the app stays imported, so an edit is checked afresh
    assert not {"llm_judge_app", "prompts", "scoring", "scoring.parse"} & set(sys.modules)
    assert str(folder) not in sys.path


def test_a_list_of_files_ships_them_side_by_side(tmp_path):
    folder = _judge_folder(tmp_path)
    (tmp_path / "flat").mkdir()
    app = (tmp_path / "flat" / "judge.py")
    app.write_text(APP.replace("from scoring.parse import parse_score", "from parse import parse_score"))
    (tmp_path / "flat" / "parse.py").write_text(PARSE.replace("from scoring import SCALE", "SCALE = 5"))
    source = resolve_app([app, tmp_path / "flat" / "parse.py", folder / "prompts.py"], "LLMJudgeApp")
    assert (source.class_path, sorted(source.files)) == ("judge:LLMJudgeApp", ["judge.py", "parse.py", "prompts.py"])
    assert validate_app(source, {}) is not None


def test_a_helper_that_is_missing_is_refused_naming_it(tmp_path):
    folder = _judge_folder(tmp_path)
    (folder / "prompts.py").unlink()
    with pytest.raises(ValueError, match=r"importing llm_judge_app\.py failed: ModuleNotFoundError: No module named "
                                         r"'prompts'"):
        validate_app(resolve_app(folder, "LLMJudgeApp"), {})


@pytest.mark.parametrize(("func", "app_class", "message"), [
    (lambda root: root / "llm_judge", "NoSuchApp", "'NoSuchApp' is not defined in any file of func"),
    (lambda root: root / "llm_judge", "StubModel:X", "has no module 'StubModel'"),
    (lambda root: [root / "llm_judge" / "prompts.py", root / "notes.txt"], "App", "is not an existing .py file"),
    (lambda root: [root / "llm_judge" / "prompts.py", root / "other" / "prompts.py"], "App",
     "two files are named 'prompts.py'"),
    (lambda root: root / "empty", "App", "has no .py files"),
    (lambda root: [], "App", "func is an empty list"),
])
def test_bad_folders_and_lists_are_clear_errors(tmp_path, func, app_class, message):
    _judge_folder(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "prompts.py").write_text(PROMPTS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=message):
        resolve_app(func(tmp_path), app_class)


def test_a_class_defined_in_two_files_is_named_by_its_module(tmp_path):
    folder = _judge_folder(tmp_path)
    (folder / "copy_app.py").write_text(APP)
    with pytest.raises(ValueError, match=r"defined in several files of func .*: copy_app\.py, llm_judge_app\.py; "
                                         r"give it as 'module:LLMJudgeApp'"):
        resolve_app(folder, "LLMJudgeApp")
    assert resolve_app(folder, "copy_app:LLMJudgeApp").class_path == "copy_app:LLMJudgeApp"


def test_inside_nuclio_s_single_source_file_the_helpers_import_from_it(tmp_path):
    """The embedded handler file runs alone (no helper file next to it) and its app scores a window."""
    source = resolve_app(_judge_folder(tmp_path), "LLMJudgeApp")
    config = {"spec": {"handler": "glue:handler"}}
    embed_source(config, source)
    assert config["spec"]["handler"] == "llm_judge_app:handler"
    alone = tmp_path / "nuclio"
    alone.mkdir()
    (alone / "llm_judge_app.py").write_bytes(base64.b64decode(config["spec"]["build"]["functionSourceCode"]))
    (alone / "glue.py").write_text("def init_context(context):\n    pass\n\n\ndef handler(context, event):\n"
                                   "    return 'ok'\n")
    probe = textwrap.dedent("""
        import json, pandas as pd
        import llm_judge_app
        out = llm_judge_app.LLMJudgeApp().evaluate(pd.DataFrame({"question": ["the capital of France", "2+2"]}))
        print(json.dumps({"value": out["value"][0], "scores": out["extra_data"][0]["scores"],
                          "handler": llm_judge_app.handler(None, None),
                          "annotations": llm_judge_app.LLMJudgeApp.__init__.__annotations__}))
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=alone, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": f"{alone}:{REPO}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    # the file's ``from __future__ import annotations`` still comes first, so it still applies
    assert json.loads(done.stdout) == {"value": 0.8, "scores": [0.8, None], "handler": "ok",
                                       "annotations": {"model": "str", "return": "None"}}


@pytest.mark.slow  # starts the local service and the app's function
def test_on_the_local_target_the_folder_s_app_runs_from_its_function_directory(tmp_path):
    folder = _judge_folder(tmp_path)
    home = tmp_path / "home"
    with modelmon.get_or_create_project("judge", home=home, bundle_dir=REPO) as project:
        try:
            registered = project.set_model_monitoring_function(func=folder, application_class="LLMJudgeApp",
                                                               name="llm-judge", model="stub")
            assert (registered.name, registered.class_path) == ("llm-judge", "llm_judge_app:LLMJudgeApp")
            shipped = home / "projects" / "judge" / "functions" / "llm-judge"
            assert sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*.py")) == [
                "llm_judge_app.py", "prompts.py", "scoring/__init__.py", "scoring/parse.py"]
            state = json.loads((home / "service" / "state.json").read_text())
            assert state["projects"]["judge"]["functions"]["llm-judge"]["state"] == "running"
        finally:
            project.stop_local_service()


def test_mlrun_s_with_repo_ships_the_file_s_folder_to_nuclio(tmp_path, monkeypatch):
    """MLRun's call ``set_model_monitoring_function(func="app.py", with_repo=True, tag=, requirements_file=)``."""
    from nuclio_dashboard import NuclioDashboard

    folder = _judge_folder(tmp_path)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the judge's client\nlangchain-core==0.3.0\n\n")
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    monkeypatch.setenv("MODELMON_SOURCE", "https://files.example/modelmon/modelmon-bundle.tar.gz")
    with NuclioDashboard(building_polls=1) as dashboard, modelmon.get_or_create_project(
            "judge", home=tmp_path / "home", backend="local", target="nuclio", dashboard_url=dashboard.url,
            bundle_dir=REPO) as project:
        registered = project.set_model_monitoring_function(
            func=str(folder / "llm_judge_app.py"), application_class="LLMJudgeApp", name="llm-judge",
            with_repo=True, tag="v1", requirements_file=str(requirements))
        assert registered.class_path == "llm_judge_app:LLMJudgeApp"
        spec = dashboard.functions["judge-llm-judge"]["spec"]
        shipped = base64.b64decode(spec["build"]["functionSourceCode"]).decode()
        assert "'scoring.parse': (False, 'scoring/parse.py'," in shipped and "'prompts': (False," in shipped
        assert any("langchain-core==0.3.0" in command for command in spec["build"]["commands"])


def test_a_helper_named_like_a_module_already_imported_is_the_app_s_own(tmp_path, monkeypatch):
    folder = _judge_folder(tmp_path)
    (folder / "prompts.py").write_text(PROMPTS + "WHO = 'the app'\n")
    (folder / "llm_judge_app.py").write_text(APP + "from prompts import WHO\nassert WHO == 'the app'\n")
    stale = type(sys)("prompts")
    stale.JUDGE_PROMPT = "not the app's"
    monkeypatch.setitem(sys.modules, "prompts", stale)
    assert validate_app(resolve_app(folder, "LLMJudgeApp"), {}) is not None
    assert sys.modules["prompts"] is stale  # put back as it was


def test_a_nested_app_file_imports_its_package_s_modules_relatively(tmp_path):
    folder = tmp_path / "repo"
    (folder / "judging").mkdir(parents=True)
    (folder / "judging" / "__init__.py").write_text("")
    (folder / "judging" / "prompts.py").write_text(PROMPTS)
    (folder / "scoring").mkdir()
    (folder / "scoring" / "__init__.py").write_text("SCALE = 5\n")
    (folder / "scoring" / "parse.py").write_text(PARSE)
    (folder / "judging" / "app.py").write_text(APP.replace("from prompts import", "from .prompts import"))
    source = resolve_app(folder, "LLMJudgeApp")
    assert source.class_path == "judging.app:LLMJudgeApp"
    assert validate_app(source, {}) is not None
    # inside Nuclio's one source file too: the handler file carries the package, which keeps its layout
    config = {"spec": {"handler": "glue:handler"}}
    embed_source(config, source)
    alone = tmp_path / "nuclio"
    alone.mkdir()
    (alone / "app.py").write_bytes(base64.b64decode(config["spec"]["build"]["functionSourceCode"]))
    (alone / "glue.py").write_text("def init_context(context):\n    pass\n\n\ndef handler(context, event):\n"
                                   "    return 'ok'\n")
    probe = ("import app, importlib, pandas as pd; cls = importlib.import_module('judging.app').LLMJudgeApp; "
             "print(cls().evaluate(pd.DataFrame({'question': ['the capital?']}))['value'][0], app.handler(None, None))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=alone, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": f"{alone}:{REPO}", "PATH": "/usr/bin:/bin"})
    assert (done.returncode, done.stdout.split()) == (0, ["0.8", "ok"]), done.stderr


def test_a_single_file_importing_its_neighbour_is_refused_saying_to_ship_the_folder(tmp_path, monkeypatch):
    folder = _judge_folder(tmp_path)
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))  # as a notebook next to the app has its folder importable
    import prompts  # noqa: F401  (the notebook imported the helper too)

    with pytest.raises(ValueError, match=r"No module named 'prompts' \(at .*llm_judge_app\.py:6\); 'prompts' is next "
                                         r"to llm_judge_app\.py but only that file ships: pass func=<its folder>"):
        validate_app(resolve_app(folder / "llm_judge_app.py", "LLMJudgeApp"), {})
    assert "prompts" in sys.modules and str(folder) in sys.path  # the notebook's own state is left as it was
    monkeypatch.delitem(sys.modules, "prompts")
