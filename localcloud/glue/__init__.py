"""Glue beyond moto: JSON classifiers and a crawler that really crawls.

moto keeps the Data Catalog (databases, tables, partitions) and crawler
definitions; this package adds CreateClassifier & co. (moto has none) and
replaces StartCrawler's state flip with a crawl of the emulated S3 that
writes tables and partitions into moto's catalog.
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
