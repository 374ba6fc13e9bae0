"""Real-browser tests: Playwright driving Chromium."""
