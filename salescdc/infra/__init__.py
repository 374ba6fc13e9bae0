"""Provision, inspect and tear down the pipeline's AWS resources (issue 3).

Resources are declared as data in `resources.py`; one engine in `engine.py`
checks, creates or updates, and waits for each, in dependency order.
"""
