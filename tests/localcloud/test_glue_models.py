"""Glue's state backend (localcloud/glue/models.py) on its own: it records crawl runs and never runs them."""

from __future__ import annotations

import threading

import pytest

from localcloud.glue.exceptions import CrawlerNotRunningException, CrawlerRunningException
from localcloud.glue.models import GlueExtrasBackend


def test_start_crawler_records_a_run_and_starts_no_thread() -> None:
    backend = GlueExtrasBackend("eu-west-1", "000000000077")
    threads_before = threading.active_count()
    run = backend.start_crawler("c")
    assert run.thread is None and threading.active_count() == threads_before
    assert backend.crawler_state("c") == "RUNNING" and backend.last_run("c") is run
    with pytest.raises(CrawlerRunningException):
        backend.start_crawler("c")


def test_stop_crawler_asks_the_run_to_stop_and_refuses_when_none_runs() -> None:
    backend = GlueExtrasBackend("eu-west-1", "000000000077")
    with pytest.raises(CrawlerNotRunningException):
        backend.stop_crawler("c")
    run = backend.start_crawler("c")
    backend.stop_crawler("c")
    assert run.stop_requested.is_set() and backend.crawler_state("c") == "STOPPING"
