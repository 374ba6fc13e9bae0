"""Helpers every test module shares: waiting, boto3 clients on a local cloud, the orders table, processes.

Fixtures live in tests/conftest.py; the plain functions they and the tests call live here, so a
test module imports them by name (`from tests.support.waiting import eventually`) instead of
copying them.
"""
