"""The whole user flow in a real browser: Chromium (Playwright) on `streamlit run app/main.py` + a local cloud.

Open the app, Provision, Start generator, change one order's quantity in the editor,
see the change reach Athena in its journey and on the Sales page. Screenshots of
every page go to test-artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import background, free_port, wait_http

# Provisioning, generating and waiting for Athena through a real browser: about 75 s alone, twice that
# when the suite shares the machine, so more than the default 180 s.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REFRESH_S = 3
QUANTITY = 777  # no generated order has it (they have 1-5), so it is unmistakably ours


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    cloud_port, app_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{cloud_port}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "SALESCDC_TARGET": "local",
        "SALESCDC_BUFFER_INTERVAL_S": "0",
        "SALESCDC_REFRESH_INTERVAL_S": str(REFRESH_S),
        "SALESCDC_STATE_DIR": str(tmp_path / "generator"),
        "SALESCDC_LOCALCLOUD_DIR": str(tmp_path / "localcloud"),
        "PYTHONUNBUFFERED": "1",
    }
    cloud_argv = [sys.executable, "-m", "localcloud", "--port", str(cloud_port), "--data-dir", str(tmp_path / "lc")]
    app_argv = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(app_port),
                "--server.headless", "true", "--server.fileWatcherType", "none"]
    with background(cloud_argv, env, tmp_path / "localcloud.out", ROOT):
        wait_http(f"{endpoint}/_localcloud/health", "the local cloud")
        with background(app_argv, env, tmp_path / "streamlit.out", ROOT):
            wait_http(f"http://localhost:{app_port}/_stcore/health", "streamlit")
            try:
                yield f"http://localhost:{app_port}", env
            finally:
                # The generator is a background process of its own: stop it whatever happened.
                from salescdc.generator import GeneratorProcess
                from salescdc.settings import Settings

                GeneratorProcess(tmp_path / "generator", Settings.from_env(env)).stop()


def shot(page, name: str) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its own container, so grow the viewport to fit."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section, main')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    viewport = page.viewport_size
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, 1000), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(viewport)


def click(page, name: str) -> None:
    """Click a button once the page has settled (while Streamlit reruns, a stale copy can linger)."""
    from playwright.sync_api import expect

    button = page.get_by_role("button", name=name, exact=True)
    expect(button).to_have_count(1, timeout=30_000)
    button.click()


def go(page, title: str) -> None:
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)


def set_slider_to_zero(page, label: str) -> None:
    from playwright.sync_api import expect

    slider = page.get_by_role("slider", name=label)
    for _ in range(5):  # a rerun triggered by the previous widget can swallow the key press
        slider.focus()
        slider.press("Home")
        try:
            expect(slider).to_have_value("0", timeout=3_000)
            page.wait_for_timeout(1_000)  # let the rerun that commits the value finish
            return
        except AssertionError:
            continue
    expect(slider).to_have_value("0")


def selected_cell(page) -> tuple[int, int] | None:
    """(column, row) of the editor's selected cell, read from the grid's accessibility table."""
    cell = page.locator('[data-testid^="glide-cell-"][aria-selected="true"]')
    if cell.count() == 0:
        return None
    _, _, column, row = cell.first.get_attribute("data-testid").split("-")
    return int(column), int(row)


def edit_cell(page, column: int, row: int, value: str) -> None:
    """Type `value` into one cell of st.data_editor (a canvas grid: click, then move with the keyboard)."""
    from playwright.sync_api import expect

    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    assert box is not None
    # Into the first data row, right of the row-marker column.
    page.mouse.click(box["x"] + 70, box["y"] + 35 + 17)
    expect(page.locator('[data-testid^="glide-cell-"][aria-selected="true"]')).to_have_count(1, timeout=5_000)
    current = selected_cell(page)
    assert current is not None and current[1] == row, current
    key = "ArrowRight" if current[0] < column else "ArrowLeft"
    for _ in range(abs(column - current[0])):
        page.keyboard.press(key)
        page.wait_for_timeout(150)
    expect(page.get_by_test_id(f"glide-cell-{column}-{row}")).to_have_attribute("aria-selected", "true",
                                                                                timeout=5_000)
    # Enter opens the cell's editor; typing into a closed editor drops keys while it opens.
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    page.keyboard.press("Control+A")
    page.keyboard.type(value, delay=50)
    page.keyboard.press("Enter")


def an_order_id(env: dict[str, str]) -> str:
    from salescdc.clients import ClientFactory
    from salescdc.settings import Settings

    settings = Settings.from_env(env)
    items = ClientFactory(settings).client("dynamodb").scan(TableName=settings.table_name, Limit=1)["Items"]
    return items[0]["orderid"]["S"] if items else ""


def order_quantity(env: dict[str, str], orderid: str) -> int:
    from salescdc.clients import ClientFactory
    from salescdc.orders import OrderRepository
    from salescdc.settings import Settings

    settings = Settings.from_env(env)
    return OrderRepository(settings, ClientFactory(settings)).get(orderid)["quantity"]


@contextlib.contextmanager
def app_page(url: str, failure_shot: str) -> Iterator[Any]:
    """Chromium showing the app at `url` once its Pipeline page is up; a screenshot `failure_shot` if the test fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("heading", name="Pipeline", level=1).wait_for(timeout=60_000)
            yield page
        except Exception:
            with contextlib.suppress(Exception):
                shot(page, failure_shot)
            raise
        finally:
            browser.close()


def test_provision_generate_edit_and_see_it_in_sales(app_url):
    from playwright.sync_api import expect

    url, env = app_url
    with app_page(url, "failure") as page:
        expect(page.get_by_text(f"Using the local cloud at {env['AWS_ENDPOINT_URL']}")).to_be_visible()

        # Provision, with live per-resource progress.
        click(page, "Provision")
        expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Provisioning done")).to_be_visible(
            timeout=180_000
        )
        shot(page, "1-pipeline-provisioned")

        # Start the generator: inserts only, so no generated update races our edit.
        set_slider_to_zero(page, "Share of updates")
        set_slider_to_zero(page, "Share of deletes")
        click(page, "Start generator")
        expect(page.get_by_test_id("stMetricValue").filter(has_text="running")).to_be_visible(timeout=60_000)
        deadline = time.monotonic() + 60
        while not (orderid := an_order_id(env)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert orderid, "the generator wrote no order"
        shot(page, "2-pipeline-generating")

        # Orders: find that order, change its quantity in the editor, save.
        go(page, "Orders")
        page.get_by_label("Search by orderid (prefix)").fill(orderid)
        page.get_by_text("Exact", exact=True).click()
        click(page, "Load")
        expect(page.get_by_text("Page 1 · 1 rows")).to_be_visible(timeout=30_000)
        edit_cell(page, column=3, row=0, value=str(QUANTITY))  # columns: 1 orderid, 2 product, 3 quantity
        page.wait_for_timeout(1000)
        click(page, "Save changes")
        expect(page.get_by_text(f"Change journey of order {orderid}")).to_be_visible(timeout=30_000)
        assert order_quantity(env, orderid) == QUANTITY  # the edit really reached DynamoDB
        expect(page.get_by_text("The saved change is queryable in Athena.")).to_be_visible(timeout=120_000)
        shot(page, "3-orders-journey")

        # Sales: the edited order is now the largest one, within the refresh interval.
        go(page, "Sales")
        expect(page.get_by_text(re.compile(rf"Largest order: {orderid} — .*{QUANTITY} ×"))).to_be_visible(
            timeout=(REFRESH_S * 2 + 60) * 1000
        )
        shot(page, "4-sales")

        go(page, "Health")
        expect(page.get_by_text("Latest objects in the lake")).to_be_visible(timeout=30_000)
        shot(page, "5-health")

        go(page, "Query")
        click(page, "Run query")
        expect(page.get_by_text(re.compile(r"Run time \d+ ms"))).to_be_visible(timeout=60_000)
        expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
        shot(page, "6-query")


def generator_state(env: dict[str, str]) -> str:
    from salescdc.generator import GeneratorProcess
    from salescdc.settings import Settings

    settings = Settings.from_env(env)
    return str(GeneratorProcess(settings.state_dir, settings).status().state)


def sidebar_says(page, text: str, timeout_s: float):
    from playwright.sync_api import expect

    line = page.get_by_test_id("stSidebar").get_by_text(re.compile(rf"Last action .*{re.escape(text)}"))
    expect(line).to_be_visible(timeout=timeout_s * 1000)


def click_then_go(page, button: str, title: str) -> None:
    """Click `button` on a page that has finished loading, then at once the link to `title` (no wait between)."""
    from playwright.sync_api import expect

    # Settled: the last element of the page is there and Streamlit shows no "Running…" status.
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)
    click(page, button)
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=30_000)


def test_a_click_is_never_lost_when_the_user_moves_on_at_once(app_url):
    """Issue 10 item 7: every action takes effect and its outcome shows on the page the user lands on."""
    from playwright.sync_api import expect

    url, env = app_url
    with app_page(url, "failure-quick-clicks") as page:

        # Provision, then at once Health: provisioning goes on, and Health's sidebar says when it is done.
        click_then_go(page, "Provision", "Health")
        sidebar_says(page, "Provisioning done", timeout_s=180)

        # Start generator, then at once Sales (no pause in between: the case that lost the click).
        go(page, "Pipeline")
        expect(page.get_by_test_id("stMetricLabel").filter(has_text="Generator")).to_be_visible(timeout=30_000)
        click_then_go(page, "Start generator", "Sales")
        sidebar_says(page, "Generator started", timeout_s=30)
        assert generator_state(env) in ("starting", "running")
        deadline = time.monotonic() + 60
        while not an_order_id(env) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert an_order_id(env), "the generator started from the click wrote no order"
        shot(page, "7-sales-after-quick-start")

        # Stop generator, then at once Query: it stops, and Query's sidebar says so.
        go(page, "Pipeline")
        expect(page.get_by_test_id("stMetricLabel").filter(has_text="Generator")).to_be_visible(timeout=30_000)
        click_then_go(page, "Stop generator", "Query")
        sidebar_says(page, "Generator stopped", timeout_s=30)
        assert generator_state(env) == "stopped"

        # Run crawler, then at once Health; Run query, then at once Sales.
        go(page, "Pipeline")
        expect(page.get_by_test_id("stMetricLabel").filter(has_text="Generator")).to_be_visible(timeout=30_000)
        click_then_go(page, "Run crawler", "Health")
        sidebar_says(page, "Crawler Kinesis-s3-data-crawler:", timeout_s=30)
        go(page, "Query")
        click_then_go(page, "Run query", "Sales")
        sidebar_says(page, "Query finished", timeout_s=60)
