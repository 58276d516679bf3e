"""The browser server: headless Chromium behind an SSRF-guarding proxy."""
