"""Long actions (Provision, Teardown) that run in a thread of their own, so no navigation can stop them.

A Streamlit script run ends whenever the person clicks elsewhere; an action run
inside it would stop halfway. An `on_click` callback therefore only starts a
`BackgroundAction` in the session's `Registry` (a plain object the page fetched
while rendering: callbacks must not touch st.session_state, see `ui.Outbox`).
The thread records progress events on the action and, when it ends, announces
the outcome in the session's outbox; the router polls while an action runs so
the outcome appears on whatever page is open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app import ui
from salescdc.errors import explain

_REGISTRY = "actions_registry"

Work = Callable[[Callable[[Any], None]], list[Any]]


@dataclass
class BackgroundAction:
    """One long action: its label, live progress, and how it ended."""

    label: str  # "Provisioning", "Tearing down"
    source: str  # the page it belongs to
    events: dict[tuple[str, str], Any] = field(default_factory=dict)  # (kind, name) -> latest ProgressEvent
    summary: str | None = None  # set when it succeeded
    error: str | None = None  # set when it failed
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

    def run(self, work: Work, outbox: ui.Outbox, on_done: Callable[[], None]) -> None:
        """The thread's body: `work(progress)` returns the per-resource results."""
        try:
            results = work(self.progress)
            changed = [r for r in results if r.changed]
            self.summary = f"{self.label} done: {len(changed)} changed, {len(results) - len(changed)} unchanged."
        except Exception as exc:  # noqa: BLE001 - any failure is a sentence for the person
            self.error = f"{self.label} failed: {explain(exc)}"
        finally:
            on_done()
            if self.error:
                outbox.announce("error", self.error, self.source)
            else:
                outbox.announce("success", self.summary or f"{self.label} done.", self.source)
            self._done.set()


class Registry:
    """One browser session's long actions by name (one at a time per name)."""

    def __init__(self, outbox: ui.Outbox) -> None:
        self._lock = threading.Lock()
        self._actions: dict[str, BackgroundAction] = {}
        self._outbox = outbox

    def start(self, name: str, label: str, source: str, work: Work,
              on_done: Callable[[], None] = lambda: None) -> BackgroundAction:
        """Start `work` in a thread under `name`, unless one is still running; safe inside a callback."""
        with self._lock:
            current = self._actions.get(name)
            if current is not None and current.running:
                return current
            action = self._actions[name] = BackgroundAction(label, source)
        threading.Thread(target=action.run, args=(work, self._outbox, on_done), name=f"action-{name}",
                         daemon=True).start()
        return action

    def get(self, name: str) -> BackgroundAction | None:
        with self._lock:
            return self._actions.get(name)

    def running(self) -> list[BackgroundAction]:
        with self._lock:
            return [a for a in self._actions.values() if a.running]


def registry() -> Registry:
    """This session's registry (call while rendering, never inside a callback)."""
    if _REGISTRY not in st.session_state:
        st.session_state[_REGISTRY] = Registry(ui.outbox())
    return st.session_state[_REGISTRY]
