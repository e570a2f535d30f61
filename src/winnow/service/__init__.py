"""Winnow as a service: settings, the HTTP API (FastAPI) and what it shares with the workers."""
