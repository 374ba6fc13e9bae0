"""localcloud: the embedded AWS — moto's APIs plus the data plane moto lacks.

`python -m localcloud` serves it on http://127.0.0.1:4566. Operations we
implement (see each service package's `responses.py`) are routed to our
handlers; every other request goes to moto's server application.
"""

import sys as _sys

# Checked here, the first thing any entry point imports, so an old Python gets one sentence, not a SyntaxError.
if _sys.version_info < (3, 11):
    raise SystemExit("This project needs Python 3.11 or newer, and this is %d.%d: run it with python3.11 "
                     "(or newer)." % tuple(_sys.version_info[:2]))

from localcloud.server import LocalCloud

__all__ = ["LocalCloud"]
