"""Hash banks: known content matched by MD5, SHA-256 and PDQ (see banks.py and index.py)."""
