"""gunicorn settings read from the environment (``gunicorn wsgi:app`` picks this file up)."""

import logging
import os

bind = f"0.0.0.0:{os.environ.get('IDP_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("IDP_THREADS", "8"))
keepalive = 5
graceful_timeout = 20
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    if server.cfg.workers > 1 and not os.environ.get("IDP_REDIS_URL"):
        logging.getLogger("gunicorn.error").warning(
            "%d workers without IDP_REDIS_URL: each worker has its own in-process store, so "
            "sessions, codes and replay caches are not shared. Set IDP_REDIS_URL.",
            server.cfg.workers)
