"""The one boto3 client factory.

Local target: dummy credentials and the endpoint from settings (the standard
AWS_ENDPOINT_URL convention, so the AWS CLI and pyathena reach the same place).
AWS target: the standard credential chain (AWS_PROFILE, env, SSO, instance role).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from salescdc.errors import ConfigError, explain
from salescdc.settings import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, Settings

_RETRIES = botocore.config.Config(
    retries={"max_attempts": 5, "mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
)


class ClientFactory:
    """Builds (and caches, per thread-safe session) boto3 clients for one Settings."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._account_id: str | None = None

    @property
    def session(self) -> boto3.session.Session:
        with self._lock:
            if self._session is None:
                self._session = self._new_session()
            return self._session

    def _new_session(self) -> boto3.session.Session:
        s = self.settings
        try:
            if s.is_local:
                return boto3.session.Session(
                    aws_access_key_id=LOCAL_ACCESS_KEY,
                    aws_secret_access_key=LOCAL_SECRET_KEY,
                    region_name=s.region,
                )
            return boto3.session.Session(profile_name=s.profile, region_name=s.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise ConfigError(explain(exc)) from None

    def client(self, service: str, **overrides: Any) -> Any:
        """A client for `service`; cached unless overrides are given."""
        if not overrides:
            with self._lock:
                cached = self._clients.get(service)
            if cached is not None:
                return cached
        kwargs: dict[str, Any] = {"config": _RETRIES}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        kwargs.update(overrides)
        client = self.session.client(service, **kwargs)
        if not overrides:
            with self._lock:
                self._clients.setdefault(service, client)
                client = self._clients[service]
        return client

    def resource(self, service: str) -> Any:
        kwargs: dict[str, Any] = {"config": _RETRIES}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        return self.session.resource(service, **kwargs)

    def account_id(self) -> str:
        """The caller's account id (moto's 123456789012 on the local cloud)."""
        if self._account_id is None:
            self._account_id = self.client("sts").get_caller_identity()["Account"]
        return self._account_id

    def bucket_name(self) -> str:
        return self.settings.bucket_for(self.account_id())
