"""salescdc: the core of the Sales CDC pipeline (settings, AWS clients, generator, data access).

Entry points (the CLI modules, infra_bootstrap.py, the Streamlit app) build a
`Settings` once and pass it down; nothing below them reads the environment.
"""

import sys as _sys

# Checked here, the first thing any entry point imports, so an old Python gets one sentence, not a SyntaxError.
if _sys.version_info < (3, 11):
    raise SystemExit("This project needs Python 3.11 or newer, and this is %d.%d: run it with python3.11 "
                     "(or newer)." % tuple(_sys.version_info[:2]))

__version__ = "0.1.0"
