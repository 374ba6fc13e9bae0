"""The Sales page's Athena queries and the one way every query runs (pyathena's PandasCursor).

Queries are plain Athena (Trino) SQL, named, so the page can show each chart's
SQL next to its run time and data scanned. They run in the Glue database, read
`orders_current` (one row per live order) for the state of the business and
`order_changes` (every change event) for activity, and prune `order_changes` by
its `dt` partition so a dashboard refresh never scans the whole lake on AWS.

`run_query` returns a small picklable `QueryResult` (the page caches it with a
TTL) and turns every failure into a `QueryError` whose message is one sentence
carrying Athena's StateChangeReason.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import botocore.config
import botocore.exceptions
import pandas as pd

from salescdc.clients import ClientFactory
from salescdc.contract import ATHENA_RESULTS_PREFIX
from salescdc.errors import SalesCdcError, explain
from salescdc.settings import Settings


class QueryError(SalesCdcError):
    """An Athena query could not run or failed; the message is readable as is."""

    def __init__(self, message: str, sql: str = "", query_id: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.sql = sql
        self.query_id = query_id
        self.reason = reason


@dataclass(frozen=True)
class QueryResult:
    """A finished query: its rows and what it cost."""

    frame: pd.DataFrame
    sql: str
    run_time_ms: int | None
    data_scanned_bytes: int | None
    query_id: str | None
    total_time_ms: int | None = None
    fetched_at: float = field(default_factory=time.time)

    @property
    def empty(self) -> bool:
        return self.frame.empty


@dataclass(frozen=True)
class NamedQuery:
    """One chart's query: a stable name, a title for people, and the SQL."""

    name: str
    title: str
    sql: str


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A Trino string literal (single quotes doubled), for values put into SQL text."""
    return "'" + str(value).replace("'", "''") + "'"


def _recent_partitions(days_back: int = 1) -> str:
    # dt is a 'YYYY-MM-DD' string partition: casting a date to varchar gives exactly that form.
    return f"dt >= CAST(current_date - INTERVAL '{days_back}' DAY AS varchar)"


def sales_queries(settings: Settings, current: str | None = None) -> dict[str, NamedQuery]:
    """The Sales page's queries, by name, in display order.

    `current` is the relation of live orders: by default the view `orders_current`
    (the reference, O(history) per query); `live_sales_queries` passes the Iceberg
    table merged on read instead.
    """
    current = current or quote_identifier(settings.view_name)
    changes = quote_identifier(settings.glue_table)
    recent = _recent_partitions(1)
    last_hour = "arrival_time >= current_timestamp - INTERVAL '1' HOUR"
    queries = [
        NamedQuery(
            "kpis",
            "Revenue, live orders, units, average order value",
            f"""SELECT
  CAST(coalesce(sum(price * quantity), 0) AS double) AS revenue,
  count(*) AS live_orders,
  coalesce(sum(quantity), 0) AS units,
  CAST(coalesce(sum(price * quantity) / nullif(count(*), 0), 0) AS double) AS avg_order_value
FROM {current}""",
        ),
        NamedQuery(
            "events_last_hour",
            "Change events per operation in the last hour",
            f"""SELECT op, count(DISTINCT event_id) AS events
FROM {changes}
WHERE {recent}
  AND {last_hour}
GROUP BY op
ORDER BY op""",
        ),
        NamedQuery(
            "by_product",
            "Revenue and units by product",
            f"""SELECT
  product_name,
  CAST(sum(price * quantity) AS double) AS revenue,
  sum(quantity) AS units,
  count(*) AS orders
FROM {current}
GROUP BY product_name
ORDER BY revenue DESC""",
        ),
        NamedQuery(
            "revenue_over_time",
            "Revenue of new orders per minute (last hour)",
            f"""SELECT
  date_trunc('minute', event_time) AS minute,
  CAST(sum(price * quantity) AS double) AS revenue,
  count(DISTINCT event_id) AS orders
FROM {changes}
WHERE {recent}
  AND {last_hour}
  AND op = 'INSERT'
GROUP BY date_trunc('minute', event_time)
ORDER BY minute""",
        ),
        NamedQuery(
            "op_mix_over_time",
            "Inserts, updates and deletes per minute (last hour)",
            f"""SELECT
  date_trunc('minute', event_time) AS minute,
  op,
  count(DISTINCT event_id) AS events
FROM {changes}
WHERE {recent}
  AND {last_hour}
GROUP BY date_trunc('minute', event_time), op
ORDER BY minute, op""",
        ),
        NamedQuery(
            "top_orders",
            "Top 10 orders by value",
            f"""SELECT
  orderid,
  product_name,
  quantity,
  CAST(price AS double) AS price,
  CAST(price * quantity AS double) AS order_value,
  updated_at
FROM {current}
ORDER BY price * quantity DESC, orderid
LIMIT 10""",
        ),
        NamedQuery(
            "price_distribution",
            "Live orders by unit price (50-wide bands)",
            # In double: Trino's decimal division keeps the dividend's scale, so 499.99 / 50 = 10.00.
            f"""SELECT
  CAST(floor(CAST(price AS double) / 50) * 50 AS integer) AS price_from,
  count(*) AS orders
FROM {current}
GROUP BY floor(CAST(price AS double) / 50) * 50
ORDER BY price_from""",
        ),
    ]
    return {q.name: q for q in queries}


def live_sales_queries(settings: Settings, watermark: QueryResult | None,
                       as_of: dt.datetime | None = None, empty_then: frozenset[str] = frozenset()
                       ) -> dict[str, NamedQuery]:
    """The Sales queries reading current state the cheap way: `cdc_data.orders` plus the changes it has not
    absorbed (merge on read, O(live orders + recent changes)), given the result of
    `current_state.watermark_sql(settings, as_of, empty_then)`; without one (the query failed) they read `orders_current`.

    `as_of` (time travel) shows the live orders as the lake knew them at that moment; the
    activity charts (last hour of change events) stay relative to now.
    """
    from salescdc.current_state import current_state_relation, watermark_from

    if watermark is None:
        return sales_queries(settings)
    relation = current_state_relation(settings, watermark_from(watermark.frame), as_of, empty_then)
    return sales_queries(settings, relation)


@dataclass
class LiveSalesRound:
    """One refresh of the Sales page's live-order queries: the watermark read and every query's answer."""

    watermark: QueryResult | QueryError
    queries: dict[str, NamedQuery]
    answers: list[QueryResult | QueryError]  # in the order of `queries`


def run_live_sales(analytics: Analytics, previous: QueryResult | None, as_of: dt.datetime | None = None,
                   empty_then: frozenset[str] = frozenset(), names: tuple[str, ...] | None = None) -> LiveSalesRound:
    """The Sales queries over live orders and the watermark they start from, in one round when it can.

    Merge on read is exact from any watermark no later than the tables' own: reading from an
    earlier day only re-reads changes the tables already hold, which lose to them by sequence
    number. A watermark, once read, stays such a bound while the tables only absorb (it moves
    forward only). So with the `previous` refresh's watermark the charts' queries run at the
    same time as the query for the new one, instead of after it; only if the new one is earlier
    (the tables were emptied or recreated) are they run again from it. The next refresh starts
    from this round's `watermark`. `names`: only these of the page's queries (all by default).
    """
    from salescdc.current_state import since_day, watermark_from, watermark_sql

    settings = analytics.settings
    watermark_query = watermark_sql(settings, as_of, empty_then)

    def chosen(watermark: QueryResult | None) -> dict[str, NamedQuery]:
        queries = live_sales_queries(settings, watermark, as_of, empty_then)
        return {name: query for name, query in queries.items() if names is None or name in names}

    def from_watermark(watermark: QueryResult | None) -> tuple[dict[str, NamedQuery], list[QueryResult | QueryError]]:
        queries = chosen(watermark)
        return queries, analytics.run_many([query.sql for query in queries.values()])

    def first_day(watermark: QueryResult) -> dt.date:
        return since_day(watermark_from(watermark.frame)) or dt.date.min

    if previous is None:
        (fresh,) = analytics.run_many([watermark_query])
        queries, answers = from_watermark(fresh if isinstance(fresh, QueryResult) else None)
        return LiveSalesRound(fresh, queries, answers)
    queries = chosen(previous)
    fresh, *answers = analytics.run_many([watermark_query] + [query.sql for query in queries.values()])
    if not isinstance(fresh, QueryResult):  # the tables are not readable: orders_current, as before
        queries, answers = from_watermark(None)
    elif first_day(fresh) < first_day(previous):
        queries, answers = from_watermark(fresh)
    return LiveSalesRound(fresh, queries, answers)


def order_events_sql(settings: Settings, orderid: str, days_back: int = 1) -> str:
    """Every lake event of one order (recent partitions), oldest first: the journey's 'queryable' check."""
    changes = quote_identifier(settings.glue_table)
    return f"""SELECT op, quantity, CAST(price AS double) AS price, updated_at, event_id, sequence_number,
  event_time, arrival_time
FROM {changes}
WHERE {_recent_partitions(days_back)}
  AND orderid = {quote_literal(orderid)}
ORDER BY lpad(sequence_number, 40, '0')"""


class PollBackoff:
    """pyathena's `on_poll` callback for one query: waits 10 ms after the first unfinished poll, doubling up to 250 ms.

    A fixed quarter second made every query last at least that long, though the local cloud
    answers a dashboard query in tens of milliseconds; doubling keeps a long query on AWS at
    four GetQueryExecution calls a second, as the fixed interval did, after five quick ones.
    """

    FIRST_S = 0.01
    LONGEST_S = 0.25

    def __init__(self, sleep: Any = time.sleep):
        self._next = self.FIRST_S
        self._sleep = sleep

    def __call__(self, execution: Any) -> None:
        if execution.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return
        self._sleep(self._next)
        self._next = min(self._next * 2, self.LONGEST_S)


class ClientReusingSession:
    """A boto3 Session whose `client()` hands back one client per set of arguments (they are thread-safe).

    pyathena's PandasCursor builds a new S3 client for every result set it reads (its
    S3FileSystem asks the connection's session), and making a boto3 client costs about as
    much CPU as a whole dashboard query on the local cloud; this keeps the first one.
    """

    def __init__(self, session: Any):
        self._session = session
        self._clients: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def client(self, *args: Any, **kwargs: Any) -> Any:
        # A Config is compared by identity; the cached entry holds it, so its id is not reused meanwhile.
        key = (args, tuple(sorted((k, id(v) if k == "config" else v) for k, v in kwargs.items())))
        with self._lock:
            if key not in self._clients:
                self._clients[key] = (self._session.client(*args, **kwargs), kwargs.get("config"))
            return self._clients[key][0]

    def __getattr__(self, name: str) -> Any:  # region_name, get_credentials, resource, …
        return getattr(self._session, name)


class Analytics:
    """Runs Athena queries for one Settings through pyathena, on AWS or the local cloud alike."""

    # pyathena's own wait between polls: none, PollBackoff (per query) does the waiting.
    POLL_INTERVAL_S = 0.0

    def __init__(self, settings: Settings, factory: ClientFactory):
        self.settings = settings
        self.factory = factory
        self._connection: Any = None

    def staging_dir(self) -> str:
        return f"s3://{self.factory.bucket_name()}/{ATHENA_RESULTS_PREFIX}"

    def connect(self) -> Any:
        """A pyathena connection whose Athena client AND S3 result reader use the factory's session.

        pyathena hands `endpoint_url` (one of its client-passing kwargs) to every boto3
        client it makes, so both reach the local cloud when an endpoint is set.
        """
        if self._connection is None:
            from pyathena import connect
            from pyathena.pandas.cursor import PandasCursor

            kwargs: dict[str, Any] = {
                "session": ClientReusingSession(self.factory.session),
                "region_name": self.settings.region,
                "work_group": self.settings.athena_workgroup,
                "s3_staging_dir": self.staging_dir(),
                "schema_name": self.settings.glue_database,
                "cursor_class": PandasCursor,
                "poll_interval": self.POLL_INTERVAL_S,
                "config": botocore.config.Config(
                    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60
                ),
            }
            if self.settings.endpoint_url:
                kwargs["endpoint_url"] = self.settings.endpoint_url
            self._connection = connect(**kwargs)
        return self._connection

    def run(self, sql: str) -> QueryResult:
        """Run one statement and return its rows and statistics; raises QueryError with a readable sentence."""
        from pyathena.error import Error as PyAthenaError

        sql = sql.strip().rstrip(";").strip()
        if not sql:
            raise QueryError("The query is empty: write a SQL statement first.", sql)
        try:
            cursor = self.connect().cursor(on_poll=PollBackoff())
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, SalesCdcError) as exc:
            raise QueryError(f"Cannot connect to Athena: {explain(exc)}", sql) from None
        except PyAthenaError as exc:
            raise QueryError(f"Cannot connect to Athena: {exc}", sql) from None
        try:
            cursor.execute(sql)
            frame = cursor.as_pandas() if cursor.has_result_set and cursor.description else pd.DataFrame()
        except PyAthenaError as exc:
            raise self._query_error(exc, sql, cursor) from None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise QueryError(self._start_failure(exc), sql, cursor.query_id) from None
        return QueryResult(
            frame=frame,
            sql=sql,
            run_time_ms=cursor.engine_execution_time_in_millis,
            data_scanned_bytes=cursor.data_scanned_in_bytes,
            query_id=cursor.query_id,
            total_time_ms=cursor.total_execution_time_in_millis,
        )

    def run_many(self, sqls: list[str], concurrency: int = 8) -> list[QueryResult | QueryError]:
        """Run independent statements at once, as a dashboard on AWS would; each result or its QueryError, in order.

        Athena runs queries of one workgroup concurrently, so a page's queries cost the slowest
        one's wait instead of the sum (each still polls with its own PollBackoff).
        """
        if not sqls:
            return []
        try:
            self.connect()  # once, before the threads share it
        except Exception:  # noqa: BLE001 - each run below reports the failure in its own words
            pass

        def one(sql: str) -> QueryResult | QueryError:
            try:
                return self.run(sql)
            except QueryError as exc:
                return exc

        if len(sqls) == 1:
            return [one(sqls[0])]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(concurrency, len(sqls)),
                                                   thread_name_prefix="athena-query") as pool:
            return list(pool.map(one, sqls))

    def _start_failure(self, exc: BaseException) -> str:
        message = f"Athena could not start the query: {explain(exc)}"
        hint = _hint(explain(exc), self.settings)
        return f"{message} {hint}" if hint else message

    def _query_error(self, exc: Exception, sql: str, cursor: Any) -> QueryError:
        cause = exc.__cause__
        if isinstance(cause, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
            return QueryError(self._start_failure(cause), sql, cursor.query_id)
        reason = str(exc).strip() or None
        query_id = getattr(cursor, "query_id", None)
        if reason is None:
            message = "Athena reported the query as failed without a reason."
        else:
            message = f"Athena could not run the query: {reason}"
            hint = _hint(reason, self.settings)
            if hint:
                message += f" {hint}"
        return QueryError(message, sql, query_id, reason)


def _hint(reason: str, settings: Settings) -> str:
    upper = reason.upper()
    if "WORKGROUP" in upper and "NOT FOUND" in upper:
        return f"(The workgroup {settings.athena_workgroup} does not exist: use Provision on the Pipeline page.)"
    if "TABLE_NOT_FOUND" in upper or "SCHEMA_NOT_FOUND" in upper or "DOES NOT EXIST" in upper:
        return (
            f"(Has the pipeline been provisioned and has the crawler created {settings.glue_table}? "
            "Use Provision and Run crawler on the Pipeline page.)"
        )
    return ""


def dataframe_to_csv(frame: pd.DataFrame) -> bytes:
    """The results as UTF-8 CSV for a download button."""
    return frame.to_csv(index=False).encode("utf-8")


def format_bytes(count: int | None) -> str:
    if count is None:
        return "n/a"
    size = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
