"""Tests for the Streamlit pages, run with streamlit.testing.v1.AppTest."""
