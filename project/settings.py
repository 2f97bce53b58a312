"""Verbatim settings, read from the environment (see the README's table).

With nothing set the site runs embedded: SQLite and media under DATA_DIR, a
filesystem Celery broker, an in-memory channel layer and the local engine.
DATABASE_URL, REDIS_URL, the S3 variables and ELEVENLABS_API_KEY switch each
part to its service.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from project import secret_key
from project.deploy import explicit_variables, refuse_unsafe_production
from project.env import (
    env_bool,
    env_bytes,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_numbers,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

# Development mode (Django's technical error pages, files reloaded as they
# change): only when asked for, `make dev` or DEBUG=true.
DEBUG = env_bool("DEBUG", False)
# Embedded: nothing points the site at a service (a database server, Redis,
# a bucket), so it is one machine (`make run`): served on plain HTTP, its
# key kept in DATA_DIR. Anything else is a team's deployment ("production"
# when DEBUG is off), whose processes on every machine share one key.
EMBEDDED = not any(env_str(name) for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "S3_BUCKET"))
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if EMBEDDED:
        SECRET_KEY = secret_key.load_or_create(DATA_DIR / "secret_key")
    elif DEBUG:
        SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
# The reverse proxies in front of the site (addresses or networks): only
# from these are X-Forwarded-For/-Proto/-Host believed (project/proxy.py);
# from anyone else they are removed. Empty: no proxy is trusted.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "project",
    "transcripts",
    "realtime",
    "accounts",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    # /healthz, before the host check and the HTTPS redirect (project/health.py).
    "project.health.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Scripts and styles from the site's own files only (project/csp.py).
    "project.csp.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL characters in a request's text: a 400 with a message (project/input_guard.py).
    "project.input_guard.RefuseNulCharacters",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.signup_links",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", "", schemes=("postgres", "postgresql", "sqlite"))
# Postgres connections come from a pool per process, bounded: under ASGI every
# request runs in a thread of its own, and persistent per-thread connections
# (CONN_MAX_AGE) piled up until Postgres refused everyone (15 users held all 100).
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1)
# How long a request waits for a pooled connection before the 503 page.
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10, minimum=0.1)
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
# Longest SQL statement, in seconds (0: no limit; migrations on a big database may need it).
DATABASE_STATEMENT_TIMEOUT = env_float("DATABASE_STATEMENT_TIMEOUT", 30, minimum=0)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["OPTIONS"] = {
            "application_name": "verbatim",
            "connect_timeout": DATABASE_CONNECT_TIMEOUT,
            "options": f"-c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT * 1000)}",
            "pool": {
                "min_size": 1,
                "max_size": DATABASE_POOL_MAX_SIZE,
                "timeout": DATABASE_POOL_TIMEOUT,
                "max_idle": 60,
            },
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "verbatim.sqlite3",
            # The web process and the worker write to the same file. A
            # transaction takes the write lock when it begins (IMMEDIATE), so
            # one that reads before it writes waits its turn instead of
            # failing at once with "database is locked" (its snapshot would
            # be stale); the timeout bounds the wait.
            "OPTIONS": {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts ----------------------------------------------------------------
# Who may create an account: open, invite (an administrator's invite link) or
# closed. Unset: the very first account may sign up (and becomes the
# administrator), every later one needs an invite (accounts/signup.py).
SIGNUP = env_choice("SIGNUP", "", ("", "open", "invite", "closed"))
# How long an invite link stays usable.
INVITE_DAYS = env_float("INVITE_DAYS", 7, minimum=0.01)
# Passwords: at least this long, and not a common password, the site's name or
# the user's own name or address with a few digits added (accounts/validators.py).
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12, minimum=8)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.GuessablePasswordValidator"},
]
# Login throttling (django-axes): this many failed logins from one address, or
# against one account, lock further attempts out for LOGIN_LOCKOUT_MINUTES. It
# guards every authenticate() with a request: the login page, /admin/login/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_float("LOGIN_LOCKOUT_MINUTES", 15, minimum=0.1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # either one locks
# A success must not wipe an address's failures: one valid account would let
# an attacker reset the count between guesses at other accounts.
AXES_RESET_ON_SUCCESS = False
# Attempts during a lockout are refused without a write, so a flood costs a
# couple of reads per request (and cannot extend the lockout forever).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
# A refused login or reset is answered after this pause, which slows a
# flood from each connection down to a trickle (accounts/throttle.py).
REFUSED_LOGIN_DELAY_SECONDS = 2.0
# Behind a reverse proxy the client's address reaches Django as REMOTE_ADDR
# from a trusted proxy's X-Forwarded-For (TRUSTED_PROXIES, project/proxy.py);
# never read from a header here, which anyone could forge.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
# Password-reset requests: per address and per client (accounts/throttle.py).
PASSWORD_RESET_RATE_PER_ADDRESS = "3/h"  # noqa: S105 (a rate, not a password)
PASSWORD_RESET_RATE_PER_CLIENT = "10/h"  # noqa: S105
# Per-user limits (the site-wide defaults; an administrator sets a user's own
# in the admin). Unset: no limit. See transcripts/quotas.py.
QUOTA_STORAGE_BYTES = env_bytes("QUOTA_STORAGE", 0) or None
QUOTA_MONTHLY_MINUTES = env_numbers("QUOTA_MONTHLY_MINUTES")
QUOTA_ACTIVE_JOBS = env_int("QUOTA_ACTIVE_JOBS", 50, minimum=1)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "transcripts:library"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- files ------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
# Where collectstatic puts the files a production web server serves: beside
# the code (in the image, not on the data volume), so an upgrade's assets
# are never shadowed by an older copy.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))).resolve()
# Embedded and in development, WhiteNoise serves the files straight from
# their folders: nothing to collect, always those of the code running.
# Production serves the collected copies (hashed names, compressed, cached
# for a year).
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED
MEDIA_ROOT = DATA_DIR / "media"
# Every temporary file (request bodies spooled by Twisted and Django, upload
# handler files, live recordings spooled for object storage) goes here, never
# to the system temp directory (often RAM, or a container's writable layer).
TEMP_DIR = Path(env_str("TEMP_DIR", str(DATA_DIR / "tmp"))).resolve()
FILE_UPLOAD_TEMP_DIR = TEMP_DIR
FILE_UPLOAD_HANDLERS = ["transcripts.media.upload_handler.LimitedTemporaryFileUploadHandler"]
# The body limit of each request, by path (read by project/upload_guard.py).
REQUEST_BODY_LIMITS = "transcripts.media.limits.body_limit_for"
FILE_UPLOAD_PERMISSIONS = 0o640

S3_BUCKET = env_str("S3_BUCKET")
# Presigned media URLs (the probe, Scribe's source_url) live this long.
MEDIA_URL_EXPIRY_SECONDS = env_int("MEDIA_URL_EXPIRY_SECONDS", 300, minimum=30)
# Parts of S3 multipart uploads (resumable uploads, live recordings); S3's
# minimum for every part but the last is 5 MiB.
S3_PART_SIZE = env_bytes("S3_PART_SIZE", 8 * 1024**2)
if S3_PART_SIZE < 5 * 1024**2:
    raise ImproperlyConfigured("S3_PART_SIZE must be at least 5MiB (S3's smallest multipart part).")
_media_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if S3_BUCKET:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("S3_REGION") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            # Presigned URLs signed with SigV4, which every region accepts (SigV2 is retired).
            "signature_version": "s3v4",
            "file_overwrite": False,
            "querystring_expire": MEDIA_URL_EXPIRY_SECONDS,
        },
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if WHITENOISE_USE_FINDERS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- uploads and media --------------------------------------------------------
MAX_UPLOAD_BYTES = env_bytes("MAX_UPLOAD_SIZE", 3 * 1000**3)
MAX_MEDIA_SECONDS = env_float("MAX_MEDIA_DURATION", 10 * 3600, minimum=1)
PROBE_TIMEOUT_SECONDS = env_float("PROBE_TIMEOUT", 60, minimum=1)
# Django's own cap on non-file form fields; file parts are limited by ours.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Resumable (tus) uploads: the largest piece one request may carry (the page
# sends pieces of this size), and how long an unfinished upload is kept after
# its last piece before it is swept away.
UPLOAD_CHUNK_SIZE = env_bytes("UPLOAD_CHUNK_SIZE", 8 * 1024**2)
UPLOAD_EXPIRY_SECONDS = env_int("UPLOAD_EXPIRY_SECONDS", 24 * 3600, minimum=60)

# --- jobs -------------------------------------------------------------------
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60, minimum=5)
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 30, minimum=1)
# A queued job untouched this long may have lost its broker message: send it again.
QUEUED_RESEND_SECONDS = env_int("QUEUED_RESEND_SECONDS", 3600, minimum=10)
# A job waiting on a provider webhook this long is reconciled by polling.
WEBHOOK_WAIT_SECONDS = env_int("WEBHOOK_WAIT_SECONDS", 900, minimum=10)
TASK_TIME_LIMIT_SECONDS = env_int("TASK_TIME_LIMIT", 6 * 3600, minimum=60)
# Extra engines ("name=dotted.path.Class"), mostly for tests and plug-ins.
EXTRA_ENGINES = env_list("EXTRA_ENGINES")

# --- local engine -------------------------------------------------------------
# Empty: the bundled tiny.en; else a CTranslate2 model directory, or a
# faster-whisper model name fetched into DATA_DIR/models by `fetch_model`.
LOCAL_STT_MODEL = env_str("LOCAL_STT_MODEL")
LOCAL_STT_THREADS = env_int("LOCAL_STT_THREADS", 1, minimum=1)
LOCAL_STT_DEVICE = env_choice("LOCAL_STT_DEVICE", "auto", ("auto", "cpu", "cuda"))
LOCAL_STT_COMPUTE_TYPE = env_str("LOCAL_STT_COMPUTE_TYPE", "auto")  # auto: int8 on CPU, float16 on CUDA
# 0: one window at a time (fastest on a small CPU); N: faster-whisper's batched pipeline.
LOCAL_STT_BATCH_SIZE = env_int("LOCAL_STT_BATCH_SIZE", 0, minimum=0)
# Offline speaker identification (the speakers extra): auto = on when installed.
LOCAL_SPEAKERS = env_choice("LOCAL_SPEAKERS", "auto", ("auto", "off"))
LOCAL_STT_CONCURRENCY = env_int("LOCAL_STT_CONCURRENCY", 0, minimum=0)  # 0: cores
LOCAL_STT_BEAM_SIZE = env_int("LOCAL_STT_BEAM_SIZE", 1, minimum=1)

# --- ElevenLabs Scribe --------------------------------------------------------
ELEVENLABS_API_KEY = env_str("ELEVENLABS_API_KEY")
ELEVENLABS_BASE_URL = env_url("ELEVENLABS_BASE_URL", "https://api.elevenlabs.io", schemes=("http", "https"))
SCRIBE_MODEL = env_str("SCRIBE_MODEL", "scribe_v2")
SCRIBE_REALTIME_MODEL = env_str("SCRIBE_REALTIME_MODEL", "scribe_v2_realtime")
# The Scribe account's concurrency limit, shared by every worker on every host
# (a Redis semaphore with leases). Set it to your plan's limit; the default
# fits the smallest paid plan (Starter, 12).
SCRIBE_MAX_CONCURRENCY = env_int("SCRIBE_MAX_CONCURRENCY", 12, minimum=1)
# Privacy at ElevenLabs: ask Scribe to keep nothing (enable_logging=false, an
# enterprise feature) for every request; each upload can also ask for it.
SCRIBE_ZERO_RETENTION = env_bool("SCRIBE_ZERO_RETENTION", False)
# Delete Scribe's copy of a transcript once ours is stored (and always when
# the user deletes the transcript).
SCRIBE_DELETE_AFTER_STORE = env_bool("SCRIBE_DELETE_AFTER_STORE", True)
# A slot of a worker that died comes back after this long.
SCRIBE_SLOT_LEASE_SECONDS = env_float("SCRIBE_SLOT_LEASE_SECONDS", 60, minimum=1)
# A job that finds every slot taken is queued again after about this long.
SCRIBE_SLOT_WAIT_SECONDS = env_float("SCRIBE_SLOT_WAIT_SECONDS", 2, minimum=0.01)
# A provider that refuses work (429, 5xx) is waited for with growing backoff
# (base, doubling up to the max) for this long before a job fails.
JOB_BUSY_BUDGET_SECONDS = env_float("JOB_BUSY_BUDGET_SECONDS", 6 * 3600, minimum=0)
JOB_BUSY_BACKOFF_SECONDS = env_float("JOB_BUSY_BACKOFF_SECONDS", 5, minimum=0.01)
JOB_BUSY_BACKOFF_MAX_SECONDS = env_float("JOB_BUSY_BACKOFF_MAX_SECONDS", 300, minimum=0.01)
# Threads of the Scribe worker: each waits on one request, so this can be high.
SCRIBE_WORKER_THREADS = env_int("SCRIBE_WORKER_THREADS", 50, minimum=1)
SCRIBE_WEBHOOK_SECRETS = env_list("SCRIBE_WEBHOOK_SECRET")
# Recordings at least this long (seconds) go to Scribe in webhook mode, when a
# webhook secret is set (0: every recording); without a secret, never.
SCRIBE_WEBHOOK_MIN_SECONDS = env_float("SCRIBE_WEBHOOK_MIN_DURATION", 0, minimum=0)
# With S3 media storage, give Scribe a presigned HTTPS link (source_url)
# instead of uploading the file through the worker.
SCRIBE_SEND_MEDIA_URLS = env_bool("SCRIBE_SEND_MEDIA_URLS", True)
# Presigned links are HTTPS-only unless this is on: for an S3-compatible
# server on a private network (or loopback, in tests) that Scribe can reach.
SCRIBE_MEDIA_URLS_ALLOW_HTTP = env_bool("SCRIBE_MEDIA_URLS_ALLOW_HTTP", False)
# How long the link given to Scribe stays valid: Scribe fetches it when the
# request arrives, or later when it queues a long recording in webhook mode.
SCRIBE_MEDIA_URL_EXPIRY_SECONDS = env_int("SCRIBE_MEDIA_URL_EXPIRY_SECONDS", 900, minimum=60)
# Empty: Scribe when a key is set, else local (transcripts/engines/registry.py).
DEFAULT_ENGINE = env_str("DEFAULT_ENGINE")

# --- live captions -------------------------------------------------------------
# Concurrent live sessions one user may have open.
LIVE_MAX_SESSIONS_PER_USER = env_int("LIVE_MAX_SESSIONS_PER_USER", 2, minimum=1)
# Largest binary frame a browser may send (16 kHz PCM16 is 32 KB/s).
LIVE_MAX_FRAME_BYTES = env_int("LIVE_MAX_FRAME_BYTES", 65536, minimum=1024)
# Audio held per socket while the upstream is slow; past it the socket closes (1013).
# Also the caption lag (text behind the audio sent) past which live captions
# pause: the recording goes on and the rest is transcribed from it at the end.
LIVE_MAX_BUFFER_SECONDS = env_float("LIVE_MAX_BUFFER_SECONDS", 5, minimum=0.5)
# Caption lag from which the page says "Captions are N s behind".
LIVE_LAG_NOTICE_SECONDS = env_float("LIVE_LAG_NOTICE_SECONDS", 3, minimum=0.5)
# On Stop, how long the server waits for the speech service's last text (the
# backlog of a slow service included) before it saves what it has and fills
# the rest from the recording in a batch pass.
LIVE_STOP_WAIT_SECONDS = env_float("LIVE_STOP_WAIT_SECONDS", 60, minimum=1)
# A socket that sends no audio this long is closed.
LIVE_IDLE_TIMEOUT = env_float("LIVE_IDLE_TIMEOUT", 30, minimum=1)
# Longest live session; the session ends (and is saved) when it is reached.
LIVE_MAX_SESSION_SECONDS = env_float("LIVE_MAX_SESSION_SECONDS", 4 * 3600, minimum=10)
# Local-engine live sessions per process (each needs most of a core).
LIVE_LOCAL_MAX_SESSIONS = env_int("LIVE_LOCAL_MAX_SESSIONS", 2, minimum=0)
# Local-engine live sessions one user may have open at once, across the site,
# so that one account cannot hold every local slot.
LIVE_LOCAL_SESSIONS_PER_USER = env_int("LIVE_LOCAL_SESSIONS_PER_USER", 1, minimum=1)
# A session sending nothing but silence this long is stopped and saved (a
# forgotten tab must not hold a slot and spend minutes).
LIVE_SILENCE_TIMEOUT = env_float("LIVE_SILENCE_TIMEOUT", 300, minimum=1)
# How long a live viewer link works (a link always expires; 1 h, 1 day and 7 days can be chosen).
LIVE_LINK_HOURS = env_float("LIVE_LINK_HOURS", 24, minimum=0.1)
# CPU threads per local live session: a decode is on the critical path of the
# caption lag, and two threads nearly halve it on a 2-core machine.
LIVE_LOCAL_THREADS = env_int("LIVE_LOCAL_THREADS", 2, minimum=1)
# An active session whose consumer has not been seen this long is recovered (saved as ended).
LIVE_STALE_SECONDS = env_int("LIVE_STALE_SECONDS", 120, minimum=10)
# With object storage, the live recording is saved to the bucket this often
# (what a crashed web process can lose), and resumed from there on any node.
LIVE_RECORDING_CHECKPOINT_SECONDS = env_float("LIVE_RECORDING_CHECKPOINT_SECONDS", 5, minimum=0.5)

# --- developer API (api/) ---------------------------------------------------------
# Per-user request rates (DRF's "N/second|minute|hour|day") for creating
# transcripts (REST, Scribe- and OpenAI-compatible), minting tokens, and search.
API_RATE_CREATE = env_str("API_RATE_CREATE", "120/minute")
API_RATE_TOKENS = env_str("API_RATE_TOKENS", "30/minute")
API_RATE_SEARCH = env_str("API_RATE_SEARCH", "60/minute")
# How long a creation's Idempotency-Key is remembered.
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24, minimum=1)
# Lifetime of a single-use WebSocket token (live sessions, Scribe realtime).
API_SOCKET_TOKEN_SECONDS = env_int("API_SOCKET_TOKEN_SECONDS", 900, minimum=10)
# Outgoing webhooks: first retry delay (then x4 per attempt, at most 4 h
# apart), attempts before a delivery fails, and the timeout of one attempt.
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=0.01)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=0.5)
# Webhooks to private, loopback and link-local addresses are refused (SSRF)
# unless the operator allows them (a receiver on the same network).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "api.authentication.PageSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "api.authentication.TokenScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.UserScopedThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Verbatim API",
    "DESCRIPTION": "Transcripts, results, exports, sharing, search, live sessions and webhooks. "
    "Authenticate with `Authorization: Bearer <token>` (tokens are made on the account page). "
    "Errors are RFC 9457 problem details (`application/problem+json`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"TranscriptStatus": "transcripts.models.Status"},
}
# --- Redis, Celery, Channels --------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss", "unix"))
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
BROKER_DIR = DATA_DIR / "broker"
# Without a shared channel layer the progress consumer watches the database.
PROGRESS_POLL_SECONDS = env_float("PROGRESS_POLL_SECONDS", 0 if REDIS_URL else 1.0, minimum=0)
# Progress is best-effort: one push to the browsers is given up after this long.
PROGRESS_PUBLISH_TIMEOUT_SECONDS = env_float("PROGRESS_PUBLISH_TIMEOUT_SECONDS", 5, minimum=0.1)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, the same as
            # channels_redis's 5 s blocking pop: a quiet consumer then crashes with
            # "Timeout reading from ...". Read longer than the pop can block.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Counters shared by every web process (password-reset throttling, the API's
# per-user throttles): Redis when there is one; the embedded mode has a
# single web process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "cache"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- mail -------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Verbatim <noreply@localhost>")

# --- security in production -----------------------------------------------------
# HTTPS behind a proxy is told by the proxy (TRUSTED_PROXIES), which sets the
# request's scheme: no SECURE_PROXY_SSL_HEADER, which would believe anyone.
if not DEBUG:
    # Production sits behind TLS; the embedded mode is plain HTTP on one
    # machine unless its operator puts TLS in front and says so here.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not EMBEDDED)
    if SECURE_SSL_REDIRECT or not EMBEDDED:
        SESSION_COOKIE_SECURE = True
        CSRF_COOKIE_SECURE = True
        SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
        SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
        # Asking browsers to hard-code HTTPS for the domain (hstspreload.org) is
        # hard to undo and covers every subdomain: the operator opts in.
        SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS preload is the operator's choice (SECURE_HSTS_PRELOAD), not a deployment warning.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Link, invite and socket tokens are written as a hash prefix (project/redact.py).
    "filters": {"redact_tokens": {"()": "project.redact.RedactTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "faster_whisper": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print paths past the
        # filter: its records go to the root handler instead.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- Celery (read by project/celery.py through the CELERY_ namespace) -----------
CELERY_BROKER_TRANSPORT_OPTIONS = (
    # A job that runs past the visibility timeout is redelivered: keep it well
    # above the hard time limit.
    {"visibility_timeout": 2 * TASK_TIME_LIMIT_SECONDS + 600}
    if CELERY_BROKER_URL.startswith("redis")
    else {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": 0.5,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS
CELERY_TASK_SOFT_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS - 30
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {
        "task": "transcripts.tasks.sweep_stale_jobs",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
    },
    # Live sessions left open by a crashed or restarted web process become transcripts.
    # Resumable uploads abandoned past UPLOAD_EXPIRY_SECONDS: their pieces are removed.
    "sweep-expired-uploads": {
        "task": "transcripts.tasks.sweep_expired_uploads",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
    },
    "recover-live-sessions": {
        "task": "realtime.tasks.recover_live_sessions",
        "schedule": float(LIVE_STALE_SECONDS),
    },
    # Webhook deliveries whose wake-up was lost are sent again; old
    # idempotency keys and used or expired socket tokens are removed.
    "api-housekeeping": {"task": "api.tasks.housekeeping", "schedule": 60.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# The embedded mode keeps everything under DATA_DIR; make sure it exists.
for _directory in (
    DATA_DIR,
    STATIC_ROOT,
    MEDIA_ROOT,
    TEMP_DIR,
    BROKER_DIR / "queue",
    BROKER_DIR / "control",
):
    _directory.mkdir(parents=True, exist_ok=True)

# Last, once every setting is read: production refuses placeholders and unsafe defaults.
refuse_unsafe_production(globals(), explicit_variables(os.environ))
