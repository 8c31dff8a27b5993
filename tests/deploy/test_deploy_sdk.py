from __future__ import annotations

import base64
import stat

import pytest
from deploy_paths import SOURCE
from sdk_app import RowCountApp

import modelmon
from modelmon.core.errors import NotFound
from modelmon.core.project_record import record_path
from modelmon.deploy.credentials import Credentials, load_credentials, save_credentials


@pytest.fixture
def project(bundle, dashboard, tmp_path, v3io_env):
    with modelmon.get_or_create_project("fraud", home=tmp_path / "home", target="nuclio",
                                        dashboard_url=dashboard.url, bundle_dir=bundle) as project:
        yield project


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad/name"}, "name 'bad/name'"),
        ({"name": "ok", "target": "k8s"}, "target 'k8s'"),
        ({"name": "ok", "target": "nuclio"}, "dashboard_url is required"),
        ({"name": "ok", "target": "nuclio", "dashboard_url": "nuclio:8070"}, "dashboard_url 'nuclio:8070'"),
        ({"name": "ok", "target": "nuclio", "dashboard_url": "http://nuclio:8070", "controller_interval": "1s"},
         "controller_interval is only for target='local'"),
        ({"name": "ok", "source": SOURCE}, "source is only for target='nuclio'"),
        ({"name": "ok", "target": "nuclio", "dashboard_url": "http://nuclio:8070", "source": "modelmon.tar.gz"},
         "source 'modelmon.tar.gz': a dashboard's builder cannot read a local path"),
        ({"name": "ok", "target": "nuclio", "dashboard_url": "http://nuclio:8070",
          "source": "git+https://git.example/modelmon.git@0123456789abcdef0123456789abcdef01234567"},
         "clones a branch or tag at depth 1, not a commit"),
    ],
)
def test_get_or_create_project_validates_arguments(kwargs, message, tmp_path, bundle):
    with pytest.raises(ValueError, match=message):
        modelmon.get_or_create_project(home=tmp_path, bundle_dir=bundle, **kwargs)


def test_method_arguments_are_validated_naming_the_argument(project, tmp_path):
    for base_period in (0, "10", 2.5, True):
        with pytest.raises(ValueError, match="base_period"):
            project.enable_model_monitoring(base_period)
    with pytest.raises(ValueError, match="application_class is required"):
        project.set_model_monitoring_function()
    with pytest.raises(ValueError, match=r"func '.*nope\.py' must be an existing \.py file"):
        project.set_model_monitoring_function(func=str(tmp_path / "nope.py"), application_class="X")
    with pytest.raises(ValueError, match="application_class 'Missing' is not defined in func"):
        project.set_model_monitoring_function(func=sdk_app_file(), application_class="Missing")
    with pytest.raises(ValueError, match="application_class 'no_colon'"):
        project.set_model_monitoring_function(application_class="no_colon")
    with pytest.raises(ValueError, match="application_class int: has no do_tracking"):
        project.set_model_monitoring_function(application_class=int)
    with pytest.raises(ValueError, match="endpoints must be a list"):
        project.set_model_monitoring_function(application_class=RowCountApp, endpoints="ep1")
    with pytest.raises(ValueError, match="requirements must be a list"):
        project.set_model_monitoring_function(application_class=RowCountApp, requirements="scipy")
    with pytest.raises(ValueError, match="application_kwargs must be JSON-serialisable"):
        project.set_model_monitoring_function(application_class=RowCountApp, minimum=object())
    with pytest.raises(ValueError, match="user_application_list needs delete_user_applications"):
        project.disable_model_monitoring(user_application_list=["a"])


def test_a_class_defined_in_main_is_refused_with_the_way_out(project):
    cls = type("NotebookApp", (RowCountApp,), {"__module__": "__main__"})
    with pytest.raises(ValueError, match="save it to a file and pass func="):
        project.create_model_monitoring_function(application_class=cls)


def test_credentials_are_validated_kept_and_never_shown(project, capsys):
    with pytest.raises(ValueError, match="tsdb_connection: scheme 'redis' is not supported"):
        project.set_model_monitoring_credentials(tsdb_connection="redis://user:s3cret@host")
    with pytest.raises(ValueError, match="give at least one"):
        project.set_model_monitoring_credentials()
    assert project.set_model_monitoring_credentials(access_key="s3cret-key", stream_path="v3io") == [
        "access_key", "stream_path"]
    with pytest.raises(ValueError, match="replace_creds: credentials already set for access_key") as info:
        project.set_model_monitoring_credentials(access_key="other")
    assert "s3cret" not in str(info.value) and "other" not in str(info.value)
    assert project.set_model_monitoring_credentials(access_key="other-key", replace_creds=True,
                                                    tsdb_connection="postgresql://u:pw@db/tsdb") == [
        "access_key", "stream_path", "tsdb_connection"]
    path = record_path(project.settings.home, project.name).with_name("credentials.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "other-key" not in repr(project) and "pw@" not in capsys.readouterr().out


@pytest.mark.slow
def test_nuclio_target_enable_app_update_remove_disable(project, dashboard):
    states = project.enable_model_monitoring(base_period=5, wait_for_deployment=True)
    assert [(s.function, s.state) for s in states] == [
        ("stream", "ready"), ("controller", "ready"), ("writer", "ready"), ("histogram-data-drift", "ready")]
    controller = dashboard.config("fraud-controller")
    assert controller["spec"]["triggers"]["every-base-period"]["attributes"] == {"interval": "5m"}
    assert [a.name for a in project.list_model_monitoring_functions()] == ["histogram-data-drift"]

    app = project.set_model_monitoring_function(func=sdk_app_file(), application_class="RowCountApp",
                                                name="row-count", endpoints={"team": "fraud"}, base_period=10,
                                                requirements=["scipy"], minimum=3)
    assert (app.class_path, app.label_selector, app.base_period_minutes, dict(app.kwargs)) == (
        "sdk_app:RowCountApp", {"team": "fraud"}, 10, {"minimum": 3})
    shipped = dashboard.config("fraud-row-count")["spec"]
    assert shipped["handler"] == "sdk_app:handler"
    code = base64.b64decode(shipped["build"]["functionSourceCode"]).decode()
    assert "class RowCountApp" in code and code.rstrip().endswith("(modelmon app glue)")
    # the bundle's glue travels inside the file: /opt/nuclio holds only this file, the glue is not in modelmon
    assert "'apps.handler': (False, 'apps/handler.py'," in code
    # modelmon comes from the same source as the bundle's functions ($MODELMON_SOURCE), then the app's needs
    assert shipped["build"]["commands"] == [f"pip install --no-cache-dir 'modelmon @ {SOURCE}'",
                                            "pip install --no-cache-dir scipy"]
    assert shipped["build"]["codeEntryType"] == "sourceCode" and "path" not in shipped["build"]
    assert (controller["spec"]["build"]["codeEntryType"], controller["spec"]["build"]["path"]) == ("archive", SOURCE)

    with pytest.raises(ValueError, match="base_period 3: app 'row-count' runs every 10 min"):
        project.update_model_monitoring_controller(3)
    assert project.update_model_monitoring_controller(10).state == "ready"
    assert dashboard.config("fraud-controller")["spec"]["triggers"]["every-base-period"]["attributes"] == {
        "interval": "10m"}
    assert [m for m, doc in dashboard.received if doc["metadata"]["name"] == "fraud-controller"] == ["POST", "PUT"]

    project.remove_model_monitoring_function("row-count")
    assert "fraud-row-count" not in dashboard.functions
    with pytest.raises(NotFound):
        project.remove_model_monitoring_function("row-count")

    assert sorted(project.disable_model_monitoring()) == ["controller", "histogram-data-drift", "writer"]
    assert sorted(dashboard.functions) == ["fraud-stream"]  # tracking data keeps flowing in
    assert project.list_model_monitoring_functions() == []


def test_results_and_endpoints_read_as_dataframes(project):
    assert project.list_model_endpoints().empty
    assert project.get_results().empty
    with pytest.raises(NotFound, match="no model endpoint with id or name 'nope'"):
        project.get_model_endpoint("nope")


@pytest.mark.slow
def test_without_a_source_nothing_is_deployed_and_the_error_says_what_to_pass(bundle, dashboard, tmp_path,
                                                                               v3io_env, monkeypatch):
    monkeypatch.delenv("MODELMON_SOURCE")
    missing = r"say where its builder gets modelmon with --source \(or source=, or \$MODELMON_SOURCE\)"
    with modelmon.get_or_create_project("fraud", home=tmp_path / "home", target="nuclio", dashboard_url=dashboard.url,
                                        bundle_dir=bundle) as project, pytest.raises(ValueError, match=missing):
        project.enable_model_monitoring(base_period=5)
    assert dashboard.received == []


@pytest.mark.slow
def test_from_an_image_nothing_of_the_bundle_is_built(bundle, dashboard, tmp_path, v3io_env):
    image = "registry.example/modelmon-functions:0.1.0"
    with modelmon.get_or_create_project("fraud", home=tmp_path / "home", target="nuclio", source=f"image:{image}",
                                        dashboard_url=dashboard.url, bundle_dir=bundle) as project:
        project.enable_model_monitoring(base_period=5)
        project.set_model_monitoring_function(func=sdk_app_file(), application_class="RowCountApp",
                                              name="row-count", requirements=["scipy"])
    writer = dashboard.config("fraud-writer")["spec"]
    assert writer["image"] == image and writer.get("build", {}).keys() <= {"commands"}  # no path/code: not built
    app = dashboard.config("fraud-row-count")["spec"]
    assert "image" not in app  # the embedded code is built, on the image, where modelmon is installed already
    assert (app["build"]["baseImage"], app["build"]["commands"]) == (image, ["pip install --no-cache-dir scipy"])


def sdk_app_file() -> str:
    import sdk_app

    return sdk_app.__file__


def test_a_credentials_file_that_exists_with_another_mode_becomes_owner_only(tmp_path):
    path = tmp_path / "project" / "credentials.json"
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)
    save_credentials(path, Credentials(access_key="s3cret-key"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(path).access_key == "s3cret-key"
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temp file left
