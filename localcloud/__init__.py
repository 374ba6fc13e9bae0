"""localcloud: the embedded AWS — moto's APIs plus the data plane moto lacks.

`python -m localcloud` serves it on http://127.0.0.1:4566. Operations we
implement (see each service package's `responses.py`) are routed to our
handlers; every other request goes to moto's server application.
"""

from localcloud.server import LocalCloud

__all__ = ["LocalCloud"]
