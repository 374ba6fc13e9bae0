"""The crawl log: what a crawl did and what it skipped, in CloudWatch Logs like AWS's.

AWS writes crawler logs to the group /aws-glue/crawlers, stream = crawler name,
each message prefixed with the crawl id in brackets. Lines go through the
service plane's log writer, which is best effort: a logging failure never
fails a crawl.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localcloud.plane import LogWriter

log = logging.getLogger("localcloud.glue.crawler")

LOG_GROUP = "/aws-glue/crawlers"


class CrawlLog:
    def __init__(self, logs: LogWriter, account_id: str, region: str, crawler_name: str, crawl_id: str):
        self._logs = logs
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
        self._logs.write(self.account_id, self.region, LOG_GROUP, self.stream, [line])
