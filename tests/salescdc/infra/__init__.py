"""Tests for provisioning (salescdc.infra and infra_bootstrap.py)."""
