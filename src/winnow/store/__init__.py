"""Where Winnow keeps scans, jobs, keys, policies and the audit log (SQLite or PostgreSQL)."""

from winnow.store.database import ApiKey, Store, Token

__all__ = ["ApiKey", "Store", "Token"]
