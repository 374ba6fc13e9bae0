"""Tests of the embedded local cloud, over HTTP against a real server."""
