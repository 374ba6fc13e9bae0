"""The crawler runner: launches each crawl StartCrawler records, reports crawls in health, ends them on stop.

StartCrawler records a run in the state backend (`models.py`) and hands it to
`CrawlerRunner.launch`, which runs the crawl on its own thread with what it
needs from the service plane (its S3 client and log writer). The runner makes crawls visible
(`/_localcloud/health`) and makes sure none outlives the server.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from localcloud.glue.crawler import Crawl
from localcloud.glue.models import CrawlRun, GlueExtrasBackend, glue_extras_backends

if TYPE_CHECKING:
    from localcloud.plane import ServicePlane

JOIN_TIMEOUT_S = 10.0


class CrawlerRunner:
    name = "glue-crawlers"

    def __init__(self, plane: ServicePlane):
        self._plane = plane

    def launch(self, run: CrawlRun, crawler: Any, extras: GlueExtrasBackend, glue: Any) -> threading.Thread:
        """Run the recorded `run` of moto's crawler `crawler` in the background; `glue` is moto's glue backend."""
        crawl = Crawl(account_id=extras.account_id, region=extras.region_name, crawler=crawler, run=run,
                      extras=extras, glue=glue, logs=self._plane.logs,
                      s3=self._plane.client("s3", extras.region_name), glue_written=self._plane.writes.glue_written)
        run.thread = threading.Thread(target=crawl.execute, name=f"glue-crawl-{crawler.name}", daemon=True)
        run.thread.start()
        return run.thread

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
