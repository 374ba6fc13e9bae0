"""Tests for the salescdc core package."""
