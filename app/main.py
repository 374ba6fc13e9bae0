"""The Sales CDC control panel: `streamlit run app/main.py`.

This router builds the Settings once (environment over st.secrets), makes sure
the local cloud answers when it is the target (starting it in the background
if needed, and saying so in the sidebar), shows a banner while it does not
answer, and hands over to the page the user picked. Pages live in app_pages/.

On every run, whatever the page, it also shows the outcome of the actions a
person started (a toast, and the last one in the sidebar) and, while a long
action runs in the background, polls it so its outcome appears once it ends.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path

# `streamlit run app/main.py` puts app/ on sys.path, not the project root that holds salescdc/.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from app import actions, ui  # noqa: E402
from salescdc import launcher  # noqa: E402
from salescdc.errors import explain  # noqa: E402
from salescdc.settings import Settings  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def served_to_network() -> str | None:
    """The one-sentence refusal when the panel is reachable from the network, else None.

    app/.streamlit/config.toml binds 127.0.0.1 wherever `streamlit run` starts; a flag or environment
    variable can still override it, and a person connecting from another machine is then refused,
    since the panel can create and delete cloud resources.
    """
    address = st.get_option("server.address")
    if address and address not in LOOPBACK:
        return (f"This panel can create and delete cloud resources, so it only serves 127.0.0.1: "
                f"restart it without --server.address {address} (or STREAMLIT_SERVER_ADDRESS).")
    client = st.context.ip_address  # None for a loopback client
    if isinstance(client, str) and not _is_loopback(client):
        return ("This panel can create and delete cloud resources, so it only serves this machine: "
                "open it at http://127.0.0.1 on the machine that runs it.")
    return None


def _is_loopback(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return address.is_loopback or bool(mapped and mapped.is_loopback)


@st.cache_resource(show_spinner="Starting the local cloud in the background…")
def _launch(config: Settings, data_dir: str) -> launcher.LaunchResult:
    # Once per server process: later reruns only check that it still answers.
    return launcher.ensure_local_cloud(config, data_dir=data_dir)


def _sidebar(config: Settings) -> None:
    with st.sidebar:
        st.markdown("### Sales CDC pipeline")
        st.caption(ui.target_caption(config))
        if not config.is_local:
            return
        result = _launch(config, str(config.localcloud_dir))
        if result.status == launcher.FAILED:
            st.error(result.message)
            # A callback, like every action: the cache is cleared before the run that starts it again.
            st.button("Try again", key="main_retry_launch", on_click=_launch.clear)
        else:
            st.caption(result.message)


def _actions() -> None:
    """Outcomes of the person's actions on whatever page renders; a poll while a long one still runs."""
    ui.show_announcements()
    registry = actions.registry()
    if not registry.running():
        return

    @st.fragment(run_every=1)
    def watch_actions() -> None:
        busy = registry.running()
        if not busy:
            st.rerun(scope="app")  # the next full run announces the outcome
        for action in busy:
            st.caption(f":material/progress_activity: {action.label}… ({len(action.snapshot())} resources so far)")

    with st.sidebar:
        watch_actions()


def _banner(config: Settings) -> bool:
    """A clear banner while the local cloud does not answer (e.g. it is restarting); True when shown.

    The page itself is not rendered meanwhile: every AWS call would wait out its retries against a
    dead endpoint. A small fragment polls and reruns the app as soon as the local cloud answers again.
    """
    if not config.is_local or launcher.is_answering(config, timeout_s=1.0):
        return False
    st.warning(
        f"The local cloud at {config.endpoint_url} is not answering — it may be restarting. "
        "This page comes back by itself as soon as it answers again.",
        icon=":material/hourglass_top:",
    )
    st.button("Start the local cloud again", key="main_restart_cloud", on_click=_launch.clear)

    @st.fragment(run_every=2)
    def wait_for_local_cloud() -> None:
        if launcher.is_answering(config, timeout_s=1.0):
            st.rerun(scope="app")
        st.caption("Waiting for the local cloud…")

    wait_for_local_cloud()
    return True


def main() -> None:
    # pyathena logs every failed query with a traceback; the page already shows it as a sentence.
    logging.getLogger("pyathena").setLevel(logging.CRITICAL)
    st.set_page_config(page_title="Sales CDC pipeline", page_icon="📦", layout="wide")
    refusal = served_to_network()
    if refusal:
        st.error(refusal)
        st.stop()
    try:
        config = ui.settings()
    except Exception as exc:  # a bad setting is one sentence, not a traceback
        st.error(f"The settings are not usable: {explain(exc)}")
        st.stop()
    _sidebar(config)
    _actions()
    waiting = _banner(config)
    pages = [
        st.Page(str(PAGES_DIR / "pipeline.py"), title="Pipeline", icon=":material/account_tree:", default=True),
        st.Page(str(PAGES_DIR / "orders.py"), title="Orders", icon=":material/edit_note:"),
        st.Page(str(PAGES_DIR / "health.py"), title="Health", icon=":material/monitor_heart:"),
        st.Page(str(PAGES_DIR / "sales.py"), title="Sales", icon=":material/bar_chart:"),
        st.Page(str(PAGES_DIR / "query.py"), title="Query", icon=":material/terminal:"),
    ]
    page = st.navigation(pages)
    if not waiting:
        page.run()


main()
