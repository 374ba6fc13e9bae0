"""The generator rides out an endpoint that goes down and comes back (its own local cloud: it restarts it)."""

from __future__ import annotations

import threading

from localcloud.testing import running_localcloud
from salescdc.clients import ClientFactory
from salescdc.generator import GeneratorOptions, OrderGenerator
from salescdc.settings import Settings
from tests.support.aws import create_orders_table
from tests.support.waiting import eventually


def test_endpoint_down_then_back_loses_nothing(tmp_path):
    with running_localcloud(tmp_path) as cloud:
        settings = Settings(endpoint_url=cloud.url, table_name="OrdersOutage")
        factory = ClientFactory(settings)
        dynamodb = factory.client("dynamodb")
        create_orders_table(dynamodb, settings.table_name, stream=None)
        cloud.stop()  # the endpoint is down; moto keeps the table in this process

        generator = OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=100, count=15))
        result: dict = {}
        thread = threading.Thread(target=lambda: result.update(stats=generator.run()))
        thread.start()
        eventually(lambda: generator.stats.transient_retries >= 3, "3 transient retries", timeout=30, interval=0.02)
        down = generator.stats
        assert down.transient_retries >= 3 and down.written == 0
        assert "Cannot reach" in (down.last_error or "")

        cloud.start()  # back on the same port
        thread.join(timeout=60)
        assert not thread.is_alive()
        stats = result["stats"]
        assert stats.written == 15 and stats.errors == {}
        assert dynamodb.scan(TableName=settings.table_name, Select="COUNT")["Count"] == 15


def test_duration_bound_ends_the_wait_for_an_endpoint_that_never_answers():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(endpoint_url=f"http://127.0.0.1:{port}")
    stats = OrderGenerator(settings, ClientFactory(settings), GeneratorOptions(rate_per_s=10, duration_s=0.5)).run()
    assert stats.written == 0 and stats.transient_retries >= 1
    assert "Cannot reach" in stats.last_error
