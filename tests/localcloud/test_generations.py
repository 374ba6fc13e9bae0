"""Write generations (localcloud/generations.py): which requests move which generation, and that
what Athena keeps between queries (Glue answers, lake listings) is never older than a write it
could have seen: every query after a write, whoever made it, reads what the write left."""

from __future__ import annotations

import threading
import urllib.request
from typing import Any

import pytest

from localcloud.durability.requests import classify
from localcloud.generations import KeptReads, WriteClock
from tests.localcloud.test_athena import BUCKET, DAY1, DAY2, DB, Lake, glue_table_input, lake_with, ndjson

SIGNED = "AWS4-HMAC-SHA256 Credential=test/20261207/ap-south-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


def request(method: str, path: str, service: str | None = None, target: str = "", query: str = "",
            host: str = "127.0.0.1:4566") -> dict[str, Any]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": host}
    if service:
        environ["HTTP_AUTHORIZATION"] = SIGNED.format(service=service)
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


def served(clock: WriteClock, environ: dict[str, Any]) -> None:
    clock.end(clock.begin(environ, classify(environ)))


# -- which requests move which generation ------------------------------------------------------------
def test_glue_writes_move_glue_and_reads_do_not() -> None:
    clock = WriteClock()
    start = clock.glue()
    served(clock, request("POST", "/", "glue", "AWSGlue.GetTable"))
    served(clock, request("POST", "/", "glue", "AWSGlue.GetTables"))
    assert clock.glue() == start
    served(clock, request("POST", "/", "glue", "AWSGlue.UpdateTable"))
    after_update = clock.glue()
    assert after_update != start
    served(clock, request("POST", "/", "glue", "AWSGlue.BatchCreatePartition"))
    assert clock.glue() != after_update
    moved = clock.glue()
    clock.glue_written()  # a crawl's in-process write
    assert clock.glue() != moved


def test_object_writes_move_only_their_first_key_segment() -> None:
    clock = WriteClock()
    orders, results = clock.s3_prefix("lake", "orders/dt=2024-05-01/"), clock.s3_prefix("lake", "athena-results/")
    whole, other = clock.s3_prefix("lake", ""), clock.s3_prefix("other", "orders/")
    served(clock, request("PUT", "/lake/athena-results/q.csv", "s3"))
    assert clock.s3_prefix("lake", "orders/dt=2024-05-01/") == orders
    assert clock.s3_prefix("lake", "athena-results/") != results
    assert clock.s3_prefix("lake", "") != whole  # a prefix without '/' may match keys of any segment
    served(clock, request("PUT", "/orders/dt=2024-05-01/a.json", "s3", host="lake.localhost.localstack.cloud:4566"))
    assert clock.s3_prefix("lake", "orders/dt=2024-05-02/") != orders  # virtual-hosted: same bucket
    assert clock.s3_prefix("other", "orders/") == other


def test_reads_move_nothing_and_bucket_writes_move_the_whole_bucket() -> None:
    clock = WriteClock()
    before = clock.s3_prefix("lake", "orders/")
    served(clock, request("GET", "/lake/orders/a.json", "s3"))
    served(clock, request("HEAD", "/lake/orders/a.json", "s3"))
    served(clock, request("GET", "/lake", "s3", query="list-type=2&prefix=orders/"))
    served(clock, request("POST", "/", "athena", "AmazonAthena.StartQueryExecution"))
    assert clock.s3_prefix("lake", "orders/") == before
    served(clock, request("POST", "/lake", "s3", query="delete"))  # DeleteObjects names its keys in the body
    after_delete = clock.s3_prefix("lake", "orders/")
    assert after_delete != before
    served(clock, request("PUT", "/lake", "s3", query="policy"))
    assert clock.s3_prefix("lake", "orders/") != after_delete


def test_unsigned_writes_count_as_s3_writes_and_moto_api_moves_everything() -> None:
    clock = WriteClock()
    before = clock.s3_prefix("lake", "orders/")
    served(clock, request("PUT", "/lake/orders/presigned.json", query="X-Amz-Credential=test"))
    assert clock.s3_prefix("lake", "orders/") != before
    glue, s3 = clock.glue(), clock.s3_prefix("lake", "orders/")
    served(clock, request("POST", "/moto-api/reset"))
    assert clock.glue() != glue and clock.s3_prefix("lake", "orders/") != s3


# -- what is kept, and when it is read again -----------------------------------------------------------
def test_kept_reads_are_used_while_the_generation_holds() -> None:
    generation = [1]
    fetched: list[str] = []
    kept = KeptReads(lambda key: generation[0])

    def fetch(value: str) -> Any:
        return lambda: fetched.append(value) or value

    assert kept.read("k", fetch("first")) == "first"
    assert kept.read("k", fetch("second")) == "first"
    generation[0] = 2
    assert kept.read("k", fetch("third")) == "third"
    assert fetched == ["first", "third"]


def test_a_read_that_races_a_write_is_not_used_again() -> None:
    generation = [1]
    kept = KeptReads(lambda key: generation[0])

    def read_while_written() -> str:
        generation[0] = 2  # the write lands while the read is on its way, with the old answer
        return "old"

    assert kept.read("k", read_while_written) == "old"
    assert kept.read("k", lambda: "new") == "new"
    assert kept.read("k", lambda: "newer") == "new"


def test_failures_are_not_kept_and_old_answers_go_first() -> None:
    kept = KeptReads(lambda key: 0, keep=2)

    def fail() -> Any:
        raise RuntimeError("the bucket is gone")

    with pytest.raises(RuntimeError):
        kept.read("k", fail)
    assert kept.read("k", lambda: "answer") == "answer"
    kept.read("a", lambda: "a")
    kept.read("b", lambda: "b")  # "k" was used least recently: it goes
    assert kept.read("k", lambda: "again") == "again"


def test_kept_reads_are_thread_safe() -> None:
    kept = KeptReads(lambda key: 0, keep=8)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(300):
                assert kept.read(i % 12, lambda i=i: i % 12) == i % 12
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# -- Athena on a real local cloud: every write is seen by the next query -----------------------------
def count(lake: Lake) -> int:
    return int(lake.rows("SELECT count(*) FROM order_changes")[1][0])


def test_athena_sees_each_object_and_table_write_at_once(cloud: Any) -> None:
    lake = lake_with(cloud, {"orders/dt=2024-05-01/a.json": ndjson(DAY1)})
    assert count(lake) == len(DAY1)
    assert count(lake) == len(DAY1)  # kept: the same answer
    lake.s3.put_object(Bucket=BUCKET, Key="orders/dt=2024-05-01/b.json", Body=ndjson(DAY2))
    assert count(lake) == len(DAY1) + len(DAY2)
    lake.s3.delete_object(Bucket=BUCKET, Key="orders/dt=2024-05-01/a.json")
    assert count(lake) == len(DAY2)
    lake.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "orders/dt=2024-05-01/b.json"}]})
    assert count(lake) == 0
    url = lake.s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET,
                                                               "Key": "orders/dt=2024-05-02/presigned.json"})
    with urllib.request.urlopen(urllib.request.Request(url, data=ndjson(DAY1), method="PUT")) as answer:
        assert answer.status == 200
    assert count(lake) == len(DAY1)
    # A Glue write: the table now reads another folder.
    lake.s3.put_object(Bucket=BUCKET, Key="moved/dt=2024-05-02/c.json", Body=ndjson(DAY1 + DAY2))
    lake.glue.update_table(DatabaseName=DB, TableInput=glue_table_input("order_changes", f"s3://{BUCKET}/moved/"))
    assert count(lake) == len(DAY1) + len(DAY2)
