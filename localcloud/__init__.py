"""localcloud: the embedded AWS — moto's APIs plus the data plane moto lacks.

`python -m localcloud` serves it on http://127.0.0.1:4566. Operations we
implement (see each service package's `responses.py`) are routed to our
handlers; every other request goes to moto's server application.

Every `localcloud/<service>` package has the same small files, moto's template:
`__init__.py` (`install(cloud)`: routes, runners, patches), `models.py` (state,
one method per AWS action; per account/region in a moto `BackendDict` where the
package keeps its own), `responses.py` (a `ROUTES` table mapping each action or
REST path to a method of its responses class, registered with
`cloud.router.register`), `exceptions.py` (one class per AWS error code, with
its HTTP status), and a runner for a data plane. A package without a handler of
its own (s3, kinesis, firehose) has no `responses.py`. Packages reach each
other only through the service plane (`plane.py`); every touch of moto's
internals is in `moto_patches.py`.
"""

import sys as _sys

# Checked here, the first thing any entry point imports, so an old Python gets one sentence, not a SyntaxError.
if _sys.version_info < (3, 11):
    raise SystemExit("This project needs Python 3.11 or newer, and this is %d.%d: run it with python3.11 "
                     "(or newer)." % tuple(_sys.version_info[:2]))

from localcloud.server import LocalCloud

__all__ = ["LocalCloud"]
