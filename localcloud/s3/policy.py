"""Evaluate the bucket-policy condition keys we can know from the request.

`aws:SecureTransport` is true when the request came over TLS or over the
loopback interface: loopback traffic never leaves the machine, so it has the
confidentiality TLS gives on a network. A request from another address over
plain HTTP is not secure, exactly as on AWS. Conditions on keys we cannot
evaluate are left as moto treats them.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from localcloud import moto_patches

_context = threading.local()


class RequestContextMiddleware:
    """Records, per request thread, what the policy evaluator needs to know about the caller."""

    def __init__(self, app: Any):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        _context.secure_transport = is_secure_transport(environ)
        try:
            return self.app(environ, start_response)
        finally:
            _context.secure_transport = None


def is_secure_transport(environ: dict[str, Any]) -> bool:
    if environ.get("wsgi.url_scheme") == "https":
        return True
    try:
        return ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def current_secure_transport() -> bool | None:
    """None outside a request (e.g. in-process callers), where moto's own behaviour stands."""
    return getattr(_context, "secure_transport", None)


def resolve_conditions(policy: dict[str, Any], secure_transport: bool) -> dict[str, Any]:
    """Drop statements whose aws:SecureTransport condition is false for this request; keep the rest."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = []
    for statement in statements:
        condition = statement.get("Condition")
        if not condition:
            kept.append(statement)
            continue
        outcome = _evaluate_secure_transport(condition, secure_transport)
        if outcome is None:
            kept.append(statement)  # a key we cannot evaluate: moto's behaviour stands
        elif outcome:
            kept.append({k: v for k, v in statement.items() if k != "Condition"})
    return {**policy, "Statement": kept}


def _evaluate_secure_transport(condition: dict[str, Any], secure: bool) -> bool | None:
    """True/False when the condition only tests aws:SecureTransport with Bool; None otherwise."""
    if set(condition) != {"Bool"}:
        return None
    tests = {k.lower(): v for k, v in condition["Bool"].items()}
    if set(tests) != {"aws:securetransport"}:
        return None
    values = tests["aws:securetransport"]
    values = values if isinstance(values, list) else [values]
    return any(str(v).lower() == str(secure).lower() for v in values)


def policy_for_this_request(policy: dict[str, Any]) -> dict[str, Any] | None:
    """The bucket policy as it applies to the current request; None outside a request (moto's behaviour stands)."""
    secure = current_secure_transport()
    if secure is None:
        return None
    return resolve_conditions(policy, secure)


def install_policy_evaluation() -> None:
    """Make moto's bucket-policy check consult the request context (idempotent)."""
    moto_patches.filter_bucket_policies(policy_for_this_request)
