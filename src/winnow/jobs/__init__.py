"""Scans that do not answer in the request: the job runner, the embedded pool, Celery, webhooks."""
