"""Glue beyond moto: JSON classifiers and a crawler that really crawls.

moto keeps the Data Catalog (databases, tables, partitions) and crawler
definitions; this package adds CreateClassifier & co. (moto has none) and
replaces StartCrawler's state flip with a crawl of the emulated S3 that
writes tables and partitions into moto's catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.glue import responses
from localcloud.glue.runner import CrawlerRunner

if TYPE_CHECKING:
    from localcloud.server import LocalCloud


def install(cloud: LocalCloud) -> None:
    for action, handler in {**responses.CLASSIFIER_ACTIONS, **responses.CRAWLER_ACTIONS}.items():
        cloud.router.action("glue", action)(handler)
    cloud.runners.append(CrawlerRunner())
