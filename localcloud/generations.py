"""Write generations: how a package knows that what it read from another service may have changed.

Every request the local cloud serves passes `LocalCloud._guarded`, which classifies it
once (`localcloud/durability/requests.classify`, as the write-ahead log does), calls
`WriteClock.begin` before answering it and `WriteClock.end` after, before the response leaves. A request that may write moves a generation on in `end`:

- Glue: one generation per local cloud for any Glue write (CreateTable, UpdateTable,
  BatchCreatePartition, …, Athena's DDL and Iceberg commits included, since they are
  requests through the service plane); a crawl writes moto's catalog in-process, as Glue's
  own, and says so after each write (`glue_written`);
- S3: per bucket, one generation per first key segment (`orders/…`, `athena-results/…`)
  for object writes, and one for the bucket itself (its settings, DeleteObjects,
  CreateBucket/DeleteBucket), which every reading of the bucket depends on; presigned and
  anonymous writes count as S3's;
- everything: any request to moto's own `/moto-api` (reset, seed), when it is served.

A reader takes the generation *before* it reads and keeps what it read with it; what it
kept is still what a new read would give while the generation is unchanged. A write
moves the generation on only after it is applied and before its caller hears of it, so a
writer that then reads (read-your-writes) reads again, and a read that raced a write is
kept under the older generation and so is not used again. Every object write, failed ones too, counts as a write (a needless re-read costs only time).
`KeptReads` is the one way a package keeps such answers (Athena's Glue reads and lake listings).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable
from typing import Any

from localcloud.caches import BoundedCache
from localcloud.durability.requests import READ, Kind, s3_bucket_and_key

MOTO_API_PATH = "/moto-api"


class WriteClock:
    """Generations of Glue and of S3 buckets' key prefixes, moved on by the server after each write."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1)  # one clock for all: a generation never repeats
        self._lock = threading.Lock()
        self._everything = 0  # moto's own API may change anything
        self._glue = 0
        self._bucket: dict[str, int] = {}  # bucket -> generation of its settings and whole-bucket writes
        self._segment: dict[tuple[str, str], int] = {}  # (bucket, first key segment) -> generation
        self._any_key: dict[str, int] = {}  # bucket -> generation of its last object write

    # -- readers ------------------------------------------------------------------
    def glue(self) -> tuple[int, int]:
        return self._everything, self._glue

    def s3_prefix(self, bucket: str, prefix: str) -> tuple[int, int, int]:
        """The generation a listing of `bucket` under `prefix` depends on."""
        with self._lock:
            if "/" in prefix:
                keys = self._segment.get((bucket, prefix.split("/", 1)[0]), 0)
            else:  # a prefix inside the first segment (or none) may match keys of any segment
                keys = self._any_key.get(bucket, 0)
            return self._everything, self._bucket.get(bucket, 0), keys

    # -- writers --------------------------------------------------------------------
    def glue_written(self) -> None:
        """Glue's catalog was written in-process (a crawl): what was read of it may have changed."""
        self.end(("glue",))

    # -- the server ---------------------------------------------------------------
    def begin(self, environ: dict[str, Any], kind: Kind) -> Any:
        """What `end` moves on for this request (None for a read), decided before it is answered.

        `kind` is the request's `classify(environ)`, which the write-ahead log goes by too."""
        if environ.get("PATH_INFO", "").startswith(MOTO_API_PATH):
            return ("everything",)  # moto's reset, seed, … (served only with --enable-moto-api)
        if kind.kind == READ:
            return None
        if kind.service == "glue":
            return ("glue",)
        if kind.service == "s3":  # presigned and anonymous writes too (classify)
            bucket, key = s3_bucket_and_key(environ)
            return ("s3", bucket, key) if bucket else None
        return None

    def end(self, token: Any) -> None:
        if token is None:
            return
        with self._lock:
            tick = next(self._ticks)
            if token[0] == "everything":
                self._everything = tick
                return
            if token[0] == "glue":
                self._glue = tick
                return
            _, bucket, key = token
            if key:
                if "/" in key:  # a key without one matches no prefix that has one: no entry per such key
                    self._segment[(bucket, key.split("/", 1)[0])] = tick
                self._any_key[bucket] = tick
            else:
                self._bucket[bucket] = tick



class KeptReads:
    """Answers read over HTTP, each kept with the generation it was read under, used while that still holds.

    `generation(key)` is taken *before* the read; a kept answer is handed back only while
    `generation(key)` is still that value, so it is always what a new read would answer.
    Two reads racing a write may keep the older answer under the older generation: it is
    then never used. Least recently used answers go first past `keep`. Answers are shared:
    keep immutable ones, or copy what is handed back.
    """

    def __init__(self, generation: Callable[[Hashable], Any], keep: int = 512):
        self._generation = generation
        self._answers = BoundedCache(keep)  # key -> (generation, answer)

    def read(self, key: Hashable, fetch: Callable[[], Any]) -> Any:
        generation = self._generation(key)
        found = self._answers.get(key)
        if found is not None and found[0] == generation:
            return found[1]
        answer = fetch()  # an exception is not kept: the next read tries again
        self._answers.put(key, (generation, answer))
        return answer
