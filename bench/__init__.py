"""Benchmarks: each prints ratios measured in one run (`make bench`).

They run Verbatim as deployed, on this machine's Postgres and Redis, so the
settings a production deployment must have (project/deploy.py refuses to
start without them) get bench defaults here; a bench may still set its own.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
