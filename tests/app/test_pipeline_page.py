"""The Pipeline page's story on an empty local cloud, the error paths of every page, and the restart banner."""

from __future__ import annotations

import re

from tests.app.conftest import no_exceptions, open_page, texts
from tests.support.processes import free_port, stop_process
from tests.support.waiting import eventually


def statuses(at) -> dict[str, str]:
    [table] = [df for df in at.dataframe if "status" in df.value.columns and "kind" in df.value.columns]
    return {f"{row.kind} {row['name']}": row.status for _, row in table.value.iterrows()}


def finished(at, label: str) -> None:
    """Provision and Teardown run in a thread of their own: rerun until the page shows how it ended."""

    def ended() -> bool:
        at.run()
        no_exceptions(at)
        return any(m.value.startswith(f"{label} ") for m in [*at.success, *at.error])

    eventually(ended, f"{label} to finish", timeout=180, interval=0.5)


def test_error_paths_provision_and_teardown(app_env):
    at = open_page()
    no_exceptions(at)
    assert f"Using the local cloud at {app_env['AWS_ENDPOINT_URL']}." in [c.value for c in at.sidebar.caption]
    assert set(statuses(at).values()) == {"missing"}

    # Every page before provisioning: readable sentences, never a traceback.
    at.switch_page("app_pages/orders.py").run()
    no_exceptions(at)
    assert any("does not exist: provision the pipeline first" in e.value for e in at.error)
    at.switch_page("app_pages/sales.py").run()
    no_exceptions(at)
    assert at.error and all("Traceback" not in e.value for e in at.error)
    assert any("Athena" in e.value or "Cannot" in e.value for e in at.error)
    at.switch_page("app_pages/health.py").run()
    no_exceptions(at)
    assert texts(at).count("missing") >= 8
    at.switch_page("app_pages/query.py").run()
    at.button(key="query_run").click().run()
    no_exceptions(at)
    assert len(at.error) == 1

    # Provision through the button; the status table then shows every resource present.
    at.switch_page("app_pages/pipeline.py").run()
    at.button(key="pipeline_provision").click().run()
    no_exceptions(at)
    finished(at, "Provisioning")
    assert any(s.value.startswith("Provisioning done") for s in at.success), [e.value for e in at.error]
    assert set(statuses(at).values()) == {"present"}, statuses(at)

    # Teardown stays disabled until the table name is typed.
    assert at.button(key="pipeline_teardown").disabled
    at.text_input(key="pipeline_teardown_confirm").set_value("wrong").run()
    assert at.button(key="pipeline_teardown").disabled
    at.radio(key="pipeline_teardown_data").set_value("Delete the data too")
    at.text_input(key="pipeline_teardown_confirm").set_value("OrdersRawTable").run()
    assert not at.button(key="pipeline_teardown").disabled
    at.button(key="pipeline_teardown").click().run()
    no_exceptions(at)
    finished(at, "Tearing down")
    assert any(s.value.startswith("Tearing down done") for s in at.success), [e.value for e in at.error]
    assert set(statuses(at).values()) == {"missing"}


def test_bad_setting_is_one_sentence(app_env, monkeypatch):
    monkeypatch.setenv("SALESCDC_TARGET", "mars")
    at = open_page()
    no_exceptions(at)
    [error] = at.error
    assert "SALESCDC_TARGET must be 'local' or 'aws'" in error.value


def test_app_starts_the_local_cloud_and_shows_a_banner_while_it_restarts(app_env, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    at = open_page("app_pages/health.py")
    no_exceptions(at)
    [started] = [c.value for c in at.sidebar.caption if c.value.startswith("Started the local cloud")]
    assert started.startswith(f"Started the local cloud at {url}")
    pid = int(re.search(r"pid (\d+)", started).group(1))
    try:
        assert not at.warning or all("not answering" not in w.value for w in at.warning)
        stop_process(pid)
        at.run()
        no_exceptions(at)
        assert any("is not answering — it may be restarting" in w.value for w in at.warning)
        assert not at.title  # the page waits instead of hanging on retries against a dead endpoint
        # The button starts it again; the banner goes away and the page works.
        at.button(key="main_restart_cloud").click().run()
        no_exceptions(at)
        [again] = [c.value for c in at.sidebar.caption if c.value.startswith("Started the local cloud")]
        pid = int(re.search(r"pid (\d+)", again).group(1))
        eventually(lambda: not any("not answering" in w.value for w in at.run().warning), "the banner to go",
                   interval=0.5)
        assert "missing" in texts(at)  # a fresh, empty local cloud answers the Health page
    finally:
        stop_process(pid)


def test_secrets_feed_the_settings_and_the_environment_wins(app_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import MAIN

    at = AppTest.from_file(MAIN, default_timeout=60)
    at.secrets["SALESCDC_TABLE"] = "TableFromSecrets"
    at.secrets["SALESCDC_STREAM"] = "stream-from-secrets"
    monkeypatch.setenv("SALESCDC_STREAM", "stream-from-env")
    at.run()
    no_exceptions(at)
    page = texts(at)
    assert "TableFromSecrets" in page
    assert "stream-from-env" in page and "stream-from-secrets" not in page
