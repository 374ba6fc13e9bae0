"""The crawler runner: reports crawls in the local cloud's health and ends them when it stops.

Crawls are started by StartCrawler, not by this runner; it only makes them
visible (`/_localcloud/health`) and makes sure none outlives the server.
"""

from __future__ import annotations

from typing import Any

from localcloud.glue.models import glue_extras_backends

JOIN_TIMEOUT_S = 10.0


class CrawlerRunner:
    name = "glue-crawlers"

    def start(self) -> None:
        """Nothing to start: each StartCrawler runs its own crawl thread."""

    def stop(self) -> None:
        runs = [run for _, _, backend in glue_extras_backends.iter_backends()
                for runs in list(backend.crawls.values()) for run in runs if run.end_time is None]
        for run in runs:
            run.stop_requested.set()
        for run in runs:
            if run.thread is not None:
                run.thread.join(JOIN_TIMEOUT_S)

    def health(self) -> dict[str, Any]:
        crawlers: dict[str, Any] = {}
        for account, region, backend in glue_extras_backends.iter_backends():
            for name in list(backend.crawls):
                last = backend.last_run(name)
                finished = backend.last_finished_run(name)
                crawlers[f"{account}/{region}/{name}"] = {
                    "state": backend.crawler_state(name),
                    "crawl_id": last.crawl_id if last else None,
                    "last_status": finished.last_crawl_status if finished else None,
                    "last_error": finished.error_message if finished else None,
                    "malformed_records": finished.malformed_records if finished else 0,
                }
        running = sum(1 for c in crawlers.values() if c["state"] != "READY")
        return {"state": "running", "running_crawls": running, "crawlers": crawlers}
