"""S3 fidelity the pipeline depends on: bucket-policy conditions see the request's transport, and
conditional writes (If-None-Match / If-Match) are atomic per key, as on AWS.

moto evaluates bucket-policy Conditions with no request context, so every
conditional Deny matches — the lake's TLS-only statement (Deny when
aws:SecureTransport is false) would then deny every object request.

No `responses.py`: moto answers every S3 API call; this package only patches how it
evaluates bucket policies (`policy.py`, through `localcloud.moto_patches`) and makes a
conditional write's check and write one step (`moto_patches.make_s3_conditional_writes_atomic`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud import moto_patches
from localcloud.s3.policy import RequestContextMiddleware, install_policy_evaluation

if TYPE_CHECKING:
    from localcloud.server import LocalCloud


def install(cloud: LocalCloud) -> None:
    cloud._moto_app = RequestContextMiddleware(cloud._moto_app)
    install_policy_evaluation()
    moto_patches.make_s3_conditional_writes_atomic()
