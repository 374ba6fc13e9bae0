"""Glue beyond moto: JSON classifiers and a crawler that really crawls.

moto keeps the Data Catalog (databases, tables, partitions) and crawler
definitions; this package adds CreateClassifier & co. (moto has none) and
replaces StartCrawler's state flip with a crawl of the emulated S3 that
writes tables and partitions into moto's catalog.

Layout: models.py (state: classifiers and crawl runs, per account/region in a
BackendDict; starts nothing), responses.py (route table and handlers),
exceptions.py (AWS error codes), runner.py (launches crawls, health, stop),
crawler.py (one crawl's lifecycle and reading), planning.py (pure: tables,
partitions and table inputs from listings and schemas), catalog.py (writes
them), s3source.py / scanning.py / inference.py / jsonpaths.py (reading and
typing the data), settings.py (the crawler definition), crawllog.py (its log).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.glue.responses import ROUTES, GlueResponses
from localcloud.glue.runner import CrawlerRunner

if TYPE_CHECKING:
    from localcloud.server import LocalCloud


def install(cloud: LocalCloud) -> None:
    runner = CrawlerRunner(cloud.plane)
    cloud.router.register("glue", ROUTES, GlueResponses(runner))
    cloud.runners.append(runner)
