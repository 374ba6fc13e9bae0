"""Long actions (Provision, Teardown) that run in a thread of their own, so no navigation can stop them.

A Streamlit script run ends whenever the person clicks elsewhere; an action run
inside it would stop halfway. An `on_click` callback therefore only starts a
`BackgroundAction` and keeps it in session state; the thread records progress
events and the outcome on the object (never in session state, which belongs to
the script thread). `collect` — called by the router on every run, whatever page
renders — turns a finished action into an announcement (toast + sidebar) once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app import ui
from salescdc.errors import explain

_KEY = "actions_background"


@dataclass
class BackgroundAction:
    """One long action: its label, live progress, and how it ended."""

    label: str  # "Provisioning", "Tearing down"
    source: str  # the page it belongs to
    started_at: float = field(default_factory=time.time)
    events: dict[tuple[str, str], Any] = field(default_factory=dict)  # (kind, name) -> latest ProgressEvent
    summary: str | None = None  # set when it succeeded
    error: str | None = None  # set when it failed
    announced: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def progress(self, event: Any) -> None:
        with self._lock:
            self.events[(event.kind, event.name)] = event

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self.events.values())

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def run(self, work: Callable[[Callable[[Any], None]], list[Any]], on_done: Callable[[], None]) -> None:
        """The thread's body: `work(progress)` returns the per-resource results."""
        try:
            results = work(self.progress)
            changed = [r for r in results if r.changed]
            self.summary = f"{self.label} done: {len(changed)} changed, {len(results) - len(changed)} unchanged."
        except Exception as exc:  # noqa: BLE001 - any failure is a sentence for the person
            self.error = f"{self.label} failed: {explain(exc)}"
        finally:
            self._done.set()
            on_done()


def start(name: str, label: str, source: str, work: Callable[[Callable[[Any], None]], list[Any]],
          on_done: Callable[[], None] = lambda: None) -> BackgroundAction:
    """Start `work` in a thread under `name` (one at a time per name); safe inside an on_click callback."""
    current = get(name)
    if current is not None and current.running:
        return current
    action = BackgroundAction(label, source)
    st.session_state[_KEY] = {**st.session_state.get(_KEY, {}), name: action}
    threading.Thread(target=action.run, args=(work, on_done), name=f"action-{name}", daemon=True).start()
    return action


def get(name: str) -> BackgroundAction | None:
    return st.session_state.get(_KEY, {}).get(name)


def running() -> list[BackgroundAction]:
    return [a for a in st.session_state.get(_KEY, {}).values() if a.running]


def collect() -> None:
    """Announce every action that finished since the last run (each once)."""
    for action in st.session_state.get(_KEY, {}).values():
        if action.running or action.announced:
            continue
        action.announced = True
        if action.error:
            ui.announce("error", action.error, action.source)
        else:
            ui.announce("success", action.summary or f"{action.label} done.", action.source)
