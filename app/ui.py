"""What every page shares: the one Settings, cached clients, error display, status colours, announcements.

No AWS logic lives here either: these helpers only cache and display what
`salescdc` returns. Nothing runs at import time; Streamlit calls these while a
page renders.

Announcements are how an action's outcome survives navigation: an `on_click`
callback (which Streamlit runs before the next script run) does the action and
calls `Outbox.announce` on an outbox the page fetched while rendering; the router
(`app/main.py`) calls `show_announcements` on every run, whatever page renders,
as a toast plus the "last action" line in the sidebar. With `runner.fastReruns`
off (app/.streamlit/config.toml) a click on another page waits for the callback
instead of starting a second run beside it, so the page landed on shows it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from salescdc.analytics import (Analytics, NamedQuery, QueryError, QueryResult, format_bytes, live_sales_queries,
                                run_live_sales)
from salescdc.clients import ClientFactory
from salescdc.errors import explain
from salescdc.generator.process import GeneratorState
from salescdc.health import StageStatus
from salescdc.infra import Presence
from salescdc.orders import RowStatus
from salescdc.settings import Settings

# (cell background, badge colour) for each meaning.
GOOD = ("#c8e6c9", "green")
BUSY = ("#ffe0b2", "orange")
BAD = ("#ffcdd2", "red")
ABSENT = ("#eeeeee", "gray")

# The one map from every status word the pages show to the colour a person reads at a glance.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    StageStatus.OK: GOOD,
    StageStatus.WARNING: BUSY,
    StageStatus.ERROR: BAD,
    StageStatus.MISSING: ABSENT,
    Presence.PRESENT: GOOD,
    Presence.DRIFTED: BUSY,
    Presence.FAILED: BAD,
    Presence.MISSING: ABSENT,
    RowStatus.SAVED: GOOD,
    RowStatus.CONFLICT: BUSY,
    RowStatus.INVALID: BAD,
    RowStatus.FAILED: BAD,
    GeneratorState.RUNNING: GOOD,
    GeneratorState.STARTING: BUSY,
    GeneratorState.FAILED: BAD,
    GeneratorState.STOPPED: ABSENT,
    GeneratorState.NOT_STARTED: ABSENT,
}

Kind = Literal["success", "error", "info"]
_OUTBOX = "ui_outbox"
_ICONS: dict[str, str] = {"success": ":material/check_circle:", "error": ":material/error:", "info": ":material/info:"}


@dataclass(frozen=True)
class Announcement:
    """One action's outcome, to be shown on whatever page renders next."""

    kind: Kind
    text: str
    source: str  # the page whose action it was, e.g. "Pipeline"
    at: float  # epoch seconds


class Outbox:
    """One browser session's action outcomes: a plain object, so callbacks can write it at any moment.

    Every access to st.session_state (and every st.* element) is a point where Streamlit stops a run
    that a newer request (a click on another page) has superseded. A callback that touched it after
    doing its work could be stopped before recording the outcome; so pages fetch their outbox while
    rendering and callbacks only call `announce` on it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Announcement] = []
        self.last: Announcement | None = None

    def announce(self, kind: Kind, text: str, source: str = "") -> None:
        note = Announcement(kind, text, source, time.time())
        with self._lock:
            self._pending.append(note)
            self.last = note

    def pending(self) -> list[Announcement]:
        """The announcements not shown yet."""
        with self._lock:
            return list(self._pending)

    def shown(self, note: Announcement) -> None:
        """`note` reached the page; a run stopped before that shows it again next time."""
        with self._lock:
            self._pending = [n for n in self._pending if n is not note]

    def last_of(self, source: str) -> Announcement | None:
        last = self.last
        return last if last is not None and last.source == source else None


def outbox() -> Outbox:
    """This session's outbox (call while rendering, never inside a callback)."""
    if _OUTBOX not in st.session_state:
        st.session_state[_OUTBOX] = Outbox()
    return st.session_state[_OUTBOX]


def show_announcements() -> None:
    """Toast every announcement not shown yet, and keep the latest as a line in the sidebar."""
    box = outbox()
    for note in box.pending():
        st.toast(note.text, icon=_ICONS[note.kind])
        box.shown(note)
    last = box.last
    if last is not None:
        st.sidebar.caption(f"{_ICONS[last.kind]} Last action ({time.strftime('%H:%M:%S', time.gmtime(last.at))} UTC): "
                           f"{last.text}")


def _secrets() -> dict[str, Any]:
    """st.secrets as a plain dict; {} when there is no secrets.toml (the usual local case)."""
    try:
        return {str(k): v for k, v in st.secrets.items()}
    except Exception:  # Streamlit raises its own error types for a missing or bad secrets file
        return {}


@st.cache_resource(show_spinner=False)
def _settings_for(environ: tuple[tuple[str, str], ...], secrets: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(environ), dict(secrets))


def settings() -> Settings:
    """The app's Settings, built once per distinct environment (os.environ over st.secrets)."""
    environ = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("SALESCDC_", "AWS_"))))
    secrets = tuple(sorted((k, str(v)) for k, v in _secrets().items() if isinstance(v, (str, int, float, bool))))
    return _settings_for(environ, secrets)


@st.cache_resource(show_spinner=False)
def factory_for(config: Settings) -> ClientFactory:
    return ClientFactory(config)


def factory() -> ClientFactory:
    return factory_for(settings())


@st.cache_resource(show_spinner=False)
def analytics_for(config: Settings) -> Analytics:
    return Analytics(config, factory_for(config))


def analytics() -> Analytics:
    return analytics_for(settings())


def show_error(exc: BaseException, prefix: str = "") -> None:
    text = explain(exc)
    st.error(f"{prefix}{text}" if prefix else text, icon=":material/error:")


@contextlib.contextmanager
def shown_errors(prefix: str = "") -> Iterator[None]:
    """Run a block; any error becomes a readable message on the page instead of a traceback.

    Streamlit's own rerun/stop signals derive from BaseException and pass through.
    """
    try:
        yield
    except Exception as exc:
        show_error(exc, prefix)


def time_bucket(seconds: float) -> int:
    """The same number for everyone within one `seconds` window: a cache key shared by all viewers."""
    return int(time.time() // max(1.0, seconds))


@st.cache_data(ttl=3600, max_entries=500, show_spinner=False)
def _cached_query(config: Settings, sql: str, bucket: int) -> tuple[QueryResult | None, str | None]:
    # Errors are cached too (for the same window), so a broken table does not cost every viewer a query.
    try:
        return analytics_for(config).run(sql), None
    except QueryError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure becomes a sentence on the page
        return None, explain(exc)


def cached_query(sql: str, ttl_s: float | None = None) -> tuple[QueryResult | None, str | None]:
    """Run `sql` at most once per refresh window for all viewers; (result, None) or (None, error sentence)."""
    config = settings()
    return _cached_query(config, sql, time_bucket(ttl_s or config.refresh_interval_s))


@st.cache_resource(show_spinner=False)
def _last_watermarks(config: Settings) -> dict[Any, QueryResult]:
    """The last watermark each Sales view (now, or as of a moment) read: where its next refresh starts."""
    return {}


@st.cache_data(ttl=3600, max_entries=100, show_spinner=False)
def _cached_live_sales(config: Settings, as_of: Any, empty_then: frozenset[str], bucket: int
                       ) -> tuple[str | None, dict[str, NamedQuery], dict[str, tuple[QueryResult | None, str | None]]]:
    last = _last_watermarks(config)
    try:
        round_ = run_live_sales(analytics_for(config), last.get((as_of, empty_then)), as_of, empty_then)
    except Exception as exc:  # noqa: BLE001 - any failure becomes a sentence on the page
        queries = live_sales_queries(config, None, as_of, empty_then)
        return explain(exc), queries, {query.sql: (None, explain(exc)) for query in queries.values()}
    error = None
    if isinstance(round_.watermark, QueryResult):
        last[(as_of, empty_then)] = round_.watermark
    else:
        error = str(round_.watermark)
    answers = {query.sql: ((None, str(a)) if isinstance(a, QueryError) else (a, None))
               for query, a in zip(round_.queries.values(), round_.answers)}
    return error, round_.queries, answers


def cached_live_sales(as_of: Any, empty_then: frozenset[str]
                      ) -> tuple[str | None, dict[str, NamedQuery], dict[str, tuple[QueryResult | None, str | None]]]:
    """The Sales page's live-order queries for one refresh window, for all viewers (salescdc.analytics.run_live_sales):
    (why the Iceberg table could not be read, or None; the queries by name; answers by SQL)."""
    config = settings()
    return _cached_live_sales(config, as_of, empty_then, time_bucket(config.refresh_interval_s))


def query_stats(result: QueryResult) -> str:
    run = f"{result.run_time_ms} ms" if result.run_time_ms is not None else "n/a"
    return (
        f"Run time {run} · data scanned {format_bytes(result.data_scanned_bytes)} · "
        f"{len(result.frame)} rows · query id `{result.query_id}`"
    )


def target_caption(config: Settings) -> str:
    """Where the app points, without any credential."""
    if config.is_local:
        return f"Local cloud at {config.endpoint_url} · region {config.region}"
    profile = f" · profile {config.profile}" if config.profile else ""
    endpoint = f" · endpoint {config.endpoint_url}" if config.endpoint_url else ""
    return f"AWS · region {config.region}{profile}{endpoint}"


def badge_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, ABSENT)[1]


def background_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, ABSENT)[0]


def styled_status(frame: Any, column: str = "status") -> Any:
    """The frame with its status column coloured (works without emoji fonts)."""

    def colour(value: Any) -> str:
        background = STATUS_COLOURS.get(str(value), ("", ""))[0]
        return f"background-color: {background}" if background else ""

    return frame.style.map(colour, subset=[column])
