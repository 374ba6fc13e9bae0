"""Tests for the Firehose transform Lambda."""
