"""Clone's one settings module: every difference between environments comes from the environment."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-only-key-do-not-deploy")
else:
    # No default: a production deployment without a secret must fail loudly at start-up.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "clone_server.accounts",
    "recording",
    "memories",
    "predictions",
]

MIDDLEWARE = [
    "clone_server.security.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "clone_server.urls"
WSGI_APPLICATION = "clone_server.wsgi.application"
ASGI_APPLICATION = "clone_server.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is only the zero-setup default for a first run; Postgres is the production database.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache_url("CLONE_CACHE_URL", default="locmemcache://clone"),
    # Throttle counters must be shared by every worker: Redis in production
    # (CLONE_THROTTLE_CACHE_URL, else CLONE_CACHE_URL); per-process memory for a first run.
    "throttle": env.cache_url(
        "CLONE_THROTTLE_CACHE_URL",
        default=env.str("CLONE_CACHE_URL", default="") or "locmemcache://clone-throttle",
    ),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Assets are served from the installed apps through whitenoise's finders; collectstatic is optional.
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default="") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve the docs' assets without a collectstatic step, so a first run needs nothing.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# The browser app's build (`make web`), served at / by whitenoise and clone_server.web.
CLONE_WEB_DIST = Path(env.str("CLONE_WEB_DIST", default=str(BASE_DIR / "web" / "dist")))
if CLONE_WEB_DIST.is_dir():
    WHITENOISE_ROOT = CLONE_WEB_DIST
# Vite names every built asset by its content hash: cache them for good.
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/?assets/.+-[A-Za-z0-9_-]{8,}\.\w+$"

# --- Request limits -------------------------------------------------------------------------
CLONE_MAX_BODY_BYTES = env.int("CLONE_MAX_BODY_BYTES", default=5 * 1024 * 1024)
CLONE_MAX_JSON_DEPTH = env.int("CLONE_MAX_JSON_DEPTH", default=32)
CLONE_MAX_EVENTS_PER_REQUEST = env.int("CLONE_MAX_EVENTS_PER_REQUEST", default=1000)
DATA_UPLOAD_MAX_MEMORY_SIZE = CLONE_MAX_BODY_BYTES

# --- HTTPS hardening, for deployments behind TLS -------------------------------------------
if env.bool("DJANGO_SECURE_HTTPS", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere (the docs page loads its start-up script as a file).
CLONE_CSP = env.str(
    "CLONE_CSP",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
)

# --- CORS for the web and desktop clients ---------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CLONE_CORS_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-clone-api-key",
)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    # JWT first: DRF answers 401 with its WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "clone_server.accounts.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["clone_server.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "clone_server.pagination.DefaultPagination",
    "DEFAULT_SCHEMA_CLASS": "clone_server.openapi.CloneAutoSchema",
    "EXCEPTION_HANDLER": "clone_server.errors.exception_handler",
    # Per-user limits for the costly endpoint classes; a view opts in with `throttle_scope`.
    "DEFAULT_THROTTLE_CLASSES": ["clone_server.throttling.UserScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "ingest": env.str("CLONE_THROTTLE_INGEST", default="600/min"),
        "predict": env.str("CLONE_THROTTLE_PREDICT", default="300/min"),
        "promote": env.str("CLONE_THROTTLE_PROMOTE", default="60/min"),
    },
    "UNAUTHENTICATED_USER": None,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SIMPLE_JWT: dict[str, Any] = {
    # CLONE_JWT_ACCESS_SECONDS, when set, wins (the browser tests use a short lifetime).
    "ACCESS_TOKEN_LIFETIME": timedelta(
        seconds=env.int(
            "CLONE_JWT_ACCESS_SECONDS", default=60 * env.int("CLONE_JWT_ACCESS_MINUTES", default=60)
        )
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("CLONE_JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clone API",
    "DESCRIPTION": (
        "Clone learns how one person answers, and answers for them. Every endpoint accepts "
        "`Authorization: Bearer <jwt>` or `X-Clone-API-Key: clone_...`."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
}

# --- The LLM ---------------------------------------------------------------------------------
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="")
CLONE_LLM_PROVIDER = env.str(
    "CLONE_LLM_PROVIDER", default="anthropic" if ANTHROPIC_API_KEY else "local"
)
CLONE_LLM_SUPPORTED_MODELS = env.list(
    "CLONE_LLM_SUPPORTED_MODELS",
    default=[
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-opus-4-6",
        "claude-haiku-4-5",
    ],
)
CLONE_LLM_DEFAULT_MODEL = env.str("CLONE_LLM_DEFAULT_MODEL", default="claude-sonnet-4-6")
CLONE_LLM_TIMEOUT_S = env.float("CLONE_LLM_TIMEOUT_S", default=30.0)
CLONE_LLM_MAX_RETRIES = env.int("CLONE_LLM_MAX_RETRIES", default=2)
CLONE_LLM_MAX_TOKENS = env.int("CLONE_LLM_MAX_TOKENS", default=2048)
# A 429 that asks for a longer wait than this is reported to the caller, not waited out.
CLONE_LLM_MAX_RETRY_WAIT_S = env.float("CLONE_LLM_MAX_RETRY_WAIT_S", default=5.0)
CLONE_BATCH_CONCURRENCY = env.int("CLONE_BATCH_CONCURRENCY", default=16)
# A permission hook stops waiting for a model after this long and lets the person decide.
CLONE_HOOK_DEADLINE_MS = env.int("CLONE_HOOK_DEADLINE_MS", default=1500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # One INFO line per model call from the HTTP client is noise in production logs.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}

# --- Background work (Celery) ----------------------------------------------------------------
# Redis (or RabbitMQ) in production; empty runs every task in-process after its request commits.
CLONE_BROKER_URL = env.str("CLONE_BROKER_URL", default="")
CELERY_BROKER_URL = CLONE_BROKER_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not CLONE_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task is acknowledged only once it finished: a worker that dies mid-task loses nothing, the
# broker hands the task to another worker (every task is idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "clone"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged task to another worker after this long (a crashed worker's task).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CLONE_BROKER_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "calibration-refit-daily": {
        "task": "predictions.tasks.calibration_refit_all",
        "schedule": env.float("CLONE_CALIBRATION_REFIT_EVERY_S", default=24 * 3600.0),
    },
}
# Promotion runs once this many raw rows wait for an episode, or after this long without a new one.
CLONE_PROMOTE_AFTER_EVENTS = env.int("CLONE_PROMOTE_AFTER_EVENTS", default=50)
CLONE_PROMOTE_IDLE_SECONDS = env.float("CLONE_PROMOTE_IDLE_SECONDS", default=60.0)
# Turn automatic promotion off (then only the promote endpoints and the command promote).
CLONE_PROMOTE_AUTOMATICALLY = env.bool("CLONE_PROMOTE_AUTOMATICALLY", default=True)
# Provider failures that may pass (rate limit, outage, timeout) retry this often, backing off.
CLONE_PROMOTE_MAX_RETRIES = env.int("CLONE_PROMOTE_MAX_RETRIES", default=8)
CLONE_PROMOTE_RETRY_BASE_S = env.float("CLONE_PROMOTE_RETRY_BASE_S", default=10.0)
CLONE_PROMOTE_RETRY_MAX_S = env.float("CLONE_PROMOTE_RETRY_MAX_S", default=900.0)
# After a failure that retrying cannot fix (the key refused, unusable output), wait this long.
CLONE_PROMOTE_HOLD_AFTER_ERROR_S = env.float("CLONE_PROMOTE_HOLD_AFTER_ERROR_S", default=3600.0)

# --- Memory ----------------------------------------------------------------------------------
CLONE_MEMORY_SYNC_CHUNK = env.int("CLONE_MEMORY_SYNC_CHUNK", default=2000)
CLONE_MEMORY_BUNDLE_FACTS = env.int("CLONE_MEMORY_BUNDLE_FACTS", default=20)
CLONE_MEMORY_BUNDLE_EPISODES = env.int("CLONE_MEMORY_BUNDLE_EPISODES", default=10)
CLONE_MEMORY_BUNDLE_RAW = env.int("CLONE_MEMORY_BUNDLE_RAW", default=50)
CLONE_MEMORY_BUNDLE_RELEVANT = env.int("CLONE_MEMORY_BUNDLE_RELEVANT", default=10)
# Relevance searches the person's newest this-many answered prompts, so its cost is bounded.
CLONE_MEMORY_RELEVANCE_WINDOW = env.int("CLONE_MEMORY_RELEVANCE_WINDOW", default=1000)
CLONE_MEMORY_EPISODE_GAP_MINUTES = env.float("CLONE_MEMORY_EPISODE_GAP_MINUTES", default=30.0)
CLONE_MEMORY_PROMOTE_MAX_ROWS = env.int("CLONE_MEMORY_PROMOTE_MAX_ROWS", default=1000)
CLONE_MEMORY_EPISODE_MAX_ROWS = env.int("CLONE_MEMORY_EPISODE_MAX_ROWS", default=200)
CLONE_MEMORY_PROMOTE_MAX_EPISODES = env.int("CLONE_MEMORY_PROMOTE_MAX_EPISODES", default=50)
CLONE_MEMORY_DISTILL_EPISODES_PER_CALL = env.int(
    "CLONE_MEMORY_DISTILL_EPISODES_PER_CALL", default=10
)
CLONE_MEMORY_DISTILL_EXISTING_FACTS = env.int("CLONE_MEMORY_DISTILL_EXISTING_FACTS", default=200)
CLONE_MEMORY_PROMOTION_MODEL = env.str("CLONE_MEMORY_PROMOTION_MODEL", default="") or None
# The local provider looks at this many of the person's most similar earlier answers.
CLONE_LOCAL_NEIGHBOURS = env.int("CLONE_LOCAL_NEIGHBOURS", default=30)
# ... and this many of their most recent decisions for a structured request (a tool call).
CLONE_LOCAL_DECISIONS = env.int("CLONE_LOCAL_DECISIONS", default=300)
# No automatic answer before the person has this many labelled answers (imported history
# counts); a share CLONE_AUDIT_RATE of would-be automatic answers is escalated to keep their
# precision measured (docs/confidence.md).
CLONE_MIN_LABELS_FOR_AUTO = env.int("CLONE_MIN_LABELS_FOR_AUTO", default=30)
CLONE_AUDIT_RATE = env.float("CLONE_AUDIT_RATE", default=0.05)
