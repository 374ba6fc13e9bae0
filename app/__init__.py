"""The Streamlit control panel (UI only; the logic lives in salescdc)."""
