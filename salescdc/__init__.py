"""salescdc: the core of the Sales CDC pipeline (settings, AWS clients, generator, data access).

Entry points (the CLI modules, infra_bootstrap.py, the Streamlit app) build a
`Settings` once and pass it down; nothing below them reads the environment.
"""

__version__ = "0.1.0"
