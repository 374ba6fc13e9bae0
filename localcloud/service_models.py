"""botocore's service models, as the local cloud's server reads them: the operation a request names.

The guard checks a JSON body against its operation's input shape; the protocol adapter
(localcloud/protocols.py) turns a REST-JSON request into the JSON 1.1 request moto and our
handlers answer. Both ask this one cache which operation a request is, by `X-Amz-Target`
(JSON protocols) or by method and path (REST protocols), as the installed botocore models it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

# Signing names whose actions botocore files under another service name.
_MODEL_NAMES = {"dynamodb": ("dynamodb", "dynamodbstreams"), "monitoring": ("cloudwatch",),
                "states": ("stepfunctions",), "events": ("events",), "pipes": ("pipes",)}

# Services moto and our handlers answer in AWS's JSON 1.1 protocol (POST /, X-Amz-Target), with the
# target prefix, for when the installed botocore models them in another protocol (its model then
# names no prefix). botocore 1.44.1x models Athena as REST-JSON; AWS answers both.
JSON_TARGET_PREFIXES = {"athena": "AmazonAthena"}


@dataclass(frozen=True)
class RestRoute:
    """One REST operation: its method, its path as a regex (labels as groups g0, g1, ...), the labels."""

    method: str
    regex: re.Pattern[str]
    labels: tuple[str, ...]  # the URI label of each group, in order
    literal_chars: int  # how specific the path is: literal routes win over labelled ones
    operation: Any


def _route(op: Any) -> RestRoute:
    uri = op.http.get("requestUri", "/").split("?", 1)[0]
    labels: list[str] = []
    pattern = ""
    for literal, label in re.findall(r"([^{]*)(?:\{([^}]+)\})?", uri):
        pattern += re.escape(literal)
        if label:
            greedy = label.endswith("+")
            labels.append(label.rstrip("+"))
            pattern += f"(?P<g{len(labels) - 1}>{'.+' if greedy else '[^/]+'})"
    literal_chars = len(re.sub(r"\{[^}]+\}", "", uri))
    return RestRoute(op.http.get("method", "POST").upper(), re.compile(pattern), tuple(labels), literal_chars, op)


class ServiceModels:
    """botocore's service models, loaded once per signing name, for JSON and REST-JSON requests."""

    def __init__(self, preloaded: dict[str, list[Any]] | None = None) -> None:
        """`preloaded`: models to use instead of the installed botocore's, by signing name (tests)."""
        self._lock = threading.Lock()
        self._by_signing_name: dict[str, list[Any]] = dict(preloaded or {})
        self._rest_routes: dict[str, list[RestRoute]] = {}

    def _load(self, signing_name: str) -> list[Any]:
        with self._lock:
            if signing_name not in self._by_signing_name:
                import botocore.session
                from botocore.exceptions import UnknownServiceError

                session = botocore.session.get_session()
                models = []
                for name in _MODEL_NAMES.get(signing_name, (signing_name,)):
                    try:
                        models.append(session.get_service_model(name))
                    except UnknownServiceError:
                        continue
                self._by_signing_name[signing_name] = models
            return self._by_signing_name[signing_name]

    def json_operation(self, signing_name: str, target: str) -> Any | None:
        """The operation an `X-Amz-Target: Prefix.Action` names, if botocore knows it."""
        prefix, _, action = target.rpartition(".")
        for model in self._load(signing_name):
            own_prefix = model.metadata.get("targetPrefix") or JSON_TARGET_PREFIXES.get(signing_name)
            if own_prefix == prefix and action in model.operation_names:
                return model.operation_model(action)
        return None

    def rest_route(self, signing_name: str, method: str, path: str) -> tuple[RestRoute, dict[str, str]] | None:
        """The REST-JSON route a method and path name, with its URI labels' raw (still %-encoded) values."""
        with self._lock:
            routes = self._rest_routes.get(signing_name)
        if routes is None:
            routes = [_route(model.operation_model(name))
                      for model in self._load(signing_name) if model.protocol == "rest-json"
                      for name in model.operation_names]
            routes.sort(key=lambda r: -r.literal_chars)
            with self._lock:
                self._rest_routes[signing_name] = routes
        for route in routes:
            if route.method == method.upper():
                matched = route.regex.fullmatch(path)
                if matched:
                    return route, {label: matched.group(f"g{i}") for i, label in enumerate(route.labels)}
        return None

    def rest_operation(self, signing_name: str, method: str, path: str) -> Any | None:
        """The REST-JSON operation a method and path name (Lambda, Pipes, ...), if botocore knows it."""
        found = self.rest_route(signing_name, method, path)
        return found[0].operation if found else None

    def protocol(self, signing_name: str) -> str | None:
        """The protocol the installed botocore speaks to the service (its first model's)."""
        models = self._load(signing_name)
        return models[0].protocol if models else None
