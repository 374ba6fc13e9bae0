"""The crawl log: what a crawl did and what it skipped, in CloudWatch Logs like AWS's.

AWS writes crawler logs to the group /aws-glue/crawlers, stream = crawler name,
each message prefixed with the crawl id in brackets. Writing to the logs
backend is best effort: a logging failure never fails a crawl.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("localcloud.glue.crawler")

LOG_GROUP = "/aws-glue/crawlers"


class CrawlLog:
    def __init__(self, account_id: str, region: str, crawler_name: str, crawl_id: str):
        self.account_id = account_id
        self.region = region
        self.stream = crawler_name
        self.crawl_id = crawl_id
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self._add("INFO", message)

    def warning(self, message: str) -> None:
        self._add("WARN", message)

    def error(self, message: str) -> None:
        self._add("ERROR", message)

    def benchmark(self, message: str) -> None:
        self._add("BENCHMARK", message)

    def _add(self, level: str, message: str) -> None:
        line = f"[{self.crawl_id}] {level} : {message}"
        self.lines.append(line)
        log.info("%s %s", self.stream, line)
        self._publish(line)

    def _publish(self, line: str) -> None:
        try:
            from moto.logs.models import logs_backends

            backend = logs_backends[self.account_id][self.region]
            if LOG_GROUP not in backend.groups:
                backend.create_log_group(LOG_GROUP, {})
            group = backend.groups[LOG_GROUP]
            if self.stream not in group.streams:
                backend.create_log_stream(LOG_GROUP, self.stream)
            backend.put_log_events(LOG_GROUP, self.stream, [{"timestamp": int(time.time() * 1000), "message": line}])
        except Exception:  # best effort: the crawl's outcome never depends on its log
            log.debug("could not write crawl log line to CloudWatch Logs", exc_info=True)
