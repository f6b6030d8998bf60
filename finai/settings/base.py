"""FinAI settings, read from the environment by one reader (django-environ).

Defaults are safe for production: DEBUG is off unless set, SECRET_KEY is then required, cookies are
secure and HTTPS is enforced. `make demo` and the test settings switch DEBUG on explicitly.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from finai.logs import LOG_FORMATS, structlog_configure
from finai.protected_attributes import GROUP_ATTRIBUTES

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)  # SQLite file, embedded broker and local artifacts live here

env = environ.Env()

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, *, default: bool) -> bool:
    """Read a yes/no variable; anything else stops start-up, so a typo cannot switch HTTPS off."""
    value = env.str(name, default="").strip().lower()
    if not value:
        return default
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, *, default: int) -> int:
    """Read a whole number; anything else stops start-up with the variable's name."""
    value = env.str(name, default="").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105
# Seals the audit chain's head (HMAC-SHA256), so a rewrite by someone with database access but not this key
# shows. Derived from SECRET_KEY unless set; set it on its own in production, so rotating SECRET_KEY leaves it.
AUDIT_CHAIN_KEY = (
    env.str("AUDIT_CHAIN_KEY", default="") or hashlib.sha256(f"finai.audit:{SECRET_KEY}".encode()).hexdigest()
)
# The sealed chain head is appended here every AUDIT_CHECKPOINT_EVERY_SECONDS and after every verification, so
# removing the newest events and putting an earlier sealed head back shows (finai.services.audit_checkpoints_check).
# In production point it at storage the database's users cannot write (an append-only mount); empty turns it off.
AUDIT_CHECKPOINT_FILE = env.str("AUDIT_CHECKPOINT_FILE", default=str(VAR_DIR / "audit" / "checkpoints.jsonl"))
AUDIT_CHECKPOINT_EVERY_SECONDS = env_int("AUDIT_CHECKPOINT_EVERY_SECONDS", default=10 * 60)
# Checks of records against their audit events, run by every verification (`verify_audit_log`, the portal, the
# daily task); dotted paths, since finai imports no app. Each returns finai.services.IntegrityFinding objects.
AUDIT_INTEGRITY_CHECKS = [
    "lending.services.integrity.decision_records_check",
    "lending.services.integrity.override_records_check",
    "analytics.services.integrity.model_artifact_records_check",
    "analytics.services.integrity.dataset_schema_records_check",
]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_structlog",
    "finai",
    "analytics",
    "clustering",
    "lending",
    "monitoring",
]

MIDDLEWARE = [
    "finai.metrics.RequestMetricsMiddleware",  # first, so its time includes every other middleware
    "finai.request_id.RequestIdMiddleware",  # early, so every response (redirects and refusals too) carries an id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "finai.urls"
WSGI_APPLICATION = "finai.wsgi.application"

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
            ],
            # Template tags that live beside the pages they serve rather than in an app's templatetags/.
            "libraries": {"fairness_pages": "analytics.fairness_reports.templatetags"},
        },
    },
]

# Database: Postgres in production and CI; a SQLite file for a fresh demo machine.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'finai.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, which serialises audit-chain writers
    # across processes; the test database is a file so a real worker process can share it.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    sqlite_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(sqlite_path.with_name(f"test_{sqlite_path.name}"))}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", default=60)
    # Fail fast rather than pile up requests behind an unreachable database; /readyz relies on it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", default=2)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Filled by `manage.py collectstatic` at every deploy (the hashed storage needs its manifest); WhiteNoise serves it.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Model artifacts live in Django storage: local disk by default, any backend in production.
ARTIFACT_ROOT = Path(env.str("ARTIFACT_ROOT", default=str(VAR_DIR / "artifacts")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "artifacts": {
        "BACKEND": env.str("ARTIFACT_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": str(ARTIFACT_ROOT)},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Celery: Redis in production and CI; otherwise kombu's file-system transport, an embedded broker
# that a real worker process consumes (never eager mode).
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = Path(env.str("EMBEDDED_BROKER_DIR", default=str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A task taken by a worker that died (kill -9, a lost machine) goes back to its queue this long after the
    # worker last renewed it; live workers renew every message they hold, running or waiting for its countdown,
    # so long training runs are never delivered twice (finai.celery.BrokerLeaseRenewal). Checked every 5 s.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=60),
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
    }
else:
    CELERY_BROKER_URL = "filesystem://localhost//"  # the host is a placeholder; kombu warns without one
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
# Every periodic task, in one place. Beat runs inside a worker (`celery worker -B`, as `make worker` starts it), so
# recovery needs no other process; in a deployment of several workers exactly one is started with -B.
CELERY_BEAT_SCHEDULE = {
    "verify-audit-chain-daily": {"task": "finai.tasks.verify_audit_chain", "schedule": 24 * 60 * 60},
    "export-audit-checkpoint": {
        "task": "finai.tasks.export_audit_checkpoint",
        "schedule": AUDIT_CHECKPOINT_EVERY_SECONDS,
    },
    "decide-waiting-applications": {"task": "lending.tasks.decide_waiting_applications", "schedule": 20},
    # Resumes batches and webhooks whose tasks a broker outage lost; forgets expired idempotency keys.
    "partner-api-sweep": {"task": "lending.tasks.partner_api_sweep", "schedule": 60},
    # Measures every complete day, week and month not yet measured; hourly, so a late worker catches up soon.
    "monitoring-run": {
        "task": "monitoring.tasks.run_monitoring",
        "schedule": env_int("MONITORING_RUN_EVERY_SECONDS", default=60 * 60),
    },
    # Undecided applications and queue backlogs; "no live worker" is `manage.py check_operations`'s, from outside.
    "operations-check": {"task": "monitoring.tasks.run_operations_check", "schedule": 5 * 60},
    # Hourly, so a worker that was down at midnight catches up; each day is screened once.
    "screening-daily": {"task": "monitoring.tasks.run_daily_screening", "schedule": 60 * 60},
}
CELERY_TASK_IGNORE_RESULT = True  # progress and results are recorded in the database
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=30 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=35 * 60)
CELERY_TASK_DEFAULT_QUEUE = "scoring"
CELERY_TASK_QUEUES_NAMES = ("scoring", "training", "analytics")
CELERY_TASK_ROUTES = {
    "lending.tasks.*": {"queue": "scoring"},
    "analytics.tasks.train_*": {"queue": "training"},
    "analytics.tasks.*": {"queue": "analytics"},
    "clustering.tasks.*": {"queue": "analytics"},
    "monitoring.tasks.*": {"queue": "analytics"},
    "finai.tasks.*": {"queue": "analytics"},
}

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# Structured logs (finai.logs): one JSON object a line in production, readable lines with DEBUG on. Each line of a
# request, and of every Celery task it queues, carries its request id (finai.request_id, django-structlog).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}.")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": f"finai.logs.{LOG_FORMAT}_formatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
structlog_configure()
# finai.request_id checks X-Request-ID before the library reads it; Celery tasks inherit the request's log context.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# One line a request at INFO: `request_finished` (method, path, status, duration, user); `request_started` is DEBUG.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG

# Operator metrics at /metrics (finai.metrics). Scrapers present `Authorization: Bearer <METRICS_TOKEN>`; without a
# token the endpoint answers only with DEBUG on, because a page behind a proxy cannot tell a scraper from the world.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Set under gunicorn with several workers (and for Celery workers on the same host): every process writes its
# samples to files in this folder and a scrape sums them. prometheus-client reads the variable itself at import.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR must be an existing folder, not {PROMETHEUS_MULTIPROC_DIR!r}."
    )

# Security: on by default, relaxed only by DEBUG (development) or explicit variables.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if env_bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content security policy (django-csp): scripts, styles, images and requests from this site only, no inline code
# (every page's scripts and styles are files under static/), no framing, no plugins, forms posted only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Sign-in throttling (finai.login_throttle): this many failures for one username from one address lock the pair
# out, even with the right password, until the lockout has passed since the latest failure; a success forgets them.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
AUTHENTICATION_BACKENDS = ["finai.login_throttle.ThrottledModelBackend"]
# Largest decisions file the fair-lending upload accepts; larger ones are refused on the form before any is read.
FAIRNESS_UPLOAD_MAX_BYTES = env_int("FAIRNESS_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)

# The product an API application or the portal's form is for when it names none.
DEFAULT_PRODUCT = env("DEFAULT_PRODUCT", default="consumer_loan").strip()
if not DEFAULT_PRODUCT:
    raise ImproperlyConfigured("DEFAULT_PRODUCT: must name a product (e.g. consumer_loan)")

# Model governance and fair lending.
PROMOTION_AUC_MARGIN = env.float("PROMOTION_AUC_MARGIN", default=0.02)
# Four eyes on overrides (lending.services.overrides): an officer's approval of an application whose probability
# of default is this far or more above its policy's decline line waits for a second officer.
try:
    OVERRIDE_RISK_MARGIN = float(env.str("OVERRIDE_RISK_MARGIN", default="0.10"))
except ValueError:
    raise ImproperlyConfigured(
        f"OVERRIDE_RISK_MARGIN must be a probability margin from 0 to 1, not {env.str('OVERRIDE_RISK_MARGIN')!r}."
    ) from None
if not 0 <= OVERRIDE_RISK_MARGIN <= 1:  # NaN fails this too
    raise ImproperlyConfigured(f"OVERRIDE_RISK_MARGIN must be from 0 to 1, not {OVERRIDE_RISK_MARGIN}.")
FAIRNESS_AIR_THRESHOLD = env.float("FAIRNESS_AIR_THRESHOLD", default=0.8)
FAIRNESS_MIN_GROUP_SIZE = env_int("FAIRNESS_MIN_GROUP_SIZE", default=30)
# The protected attributes whose groups the promotion gate and searches judge (a subset of GROUP_ATTRIBUTES).
FAIRNESS_MONITORED_ATTRIBUTES = env.list("FAIRNESS_MONITORED_ATTRIBUTES", default=list(GROUP_ATTRIBUTES))
if unknown_attributes := sorted(set(FAIRNESS_MONITORED_ATTRIBUTES) - set(GROUP_ATTRIBUTES)):
    raise ImproperlyConfigured(
        f"FAIRNESS_MONITORED_ATTRIBUTES: {', '.join(unknown_attributes)} not among {', '.join(GROUP_ATTRIBUTES)}"
    )

# --- Model monitoring (monitoring/) ---------------------------------------------------------------------
# Drift is judged per window on the bins each version fixed at training: PSI from the warning level opens an
# alert (critical from the second level); windows smaller than the minimum are stored but judge nothing.
MONITORING_PERIODS = env.list("MONITORING_PERIODS", default=["day", "week", "month"])
if unknown_periods := sorted(set(MONITORING_PERIODS) - {"day", "week", "month"}):
    raise ImproperlyConfigured(f"MONITORING_PERIODS: {', '.join(unknown_periods)} not among day, week, month")
MONITORING_PSI_WARNING = env.float("MONITORING_PSI_WARNING", default=0.10)
MONITORING_PSI_CRITICAL = env.float("MONITORING_PSI_CRITICAL", default=0.25)
if not 0 < MONITORING_PSI_WARNING <= MONITORING_PSI_CRITICAL:
    raise ImproperlyConfigured("MONITORING_PSI_WARNING and _CRITICAL: need 0 < warning <= critical")
MONITORING_APPROVAL_RATE_SHIFT = env.float("MONITORING_APPROVAL_RATE_SHIFT", default=0.10)  # absolute
MONITORING_MIN_WINDOW_DECISIONS = env_int("MONITORING_MIN_WINDOW_DECISIONS", default=200)
# Performance from outcomes: a cohort matures when its default horizon has passed (the data set's, else this one);
# smaller cohorts are shown, never judged; intervals come from this many bootstrap resamples.
MONITORING_DEFAULT_HORIZON_MONTHS = env_int("MONITORING_DEFAULT_HORIZON_MONTHS", default=12)
MONITORING_MIN_COHORT_LOANS = env_int("MONITORING_MIN_COHORT_LOANS", default=200)
MONITORING_BOOTSTRAP_SAMPLES = env_int("MONITORING_BOOTSTRAP_SAMPLES", default=1000)
# Fairness of each week's and month's live decisions: resamples behind each group's interval.
MONITORING_FAIRNESS_RESAMPLES = env_int("MONITORING_FAIRNESS_RESAMPLES", default=1000)
# Operations: applications undecided after the grace period (share of the last hour's, from a minimum count), and
# messages waiting in a queue, beyond which an alert opens.
MONITORING_SCORING_GRACE_SECONDS = env_int("MONITORING_SCORING_GRACE_SECONDS", default=300)
MONITORING_SCORING_MIN_APPLICATIONS = env_int("MONITORING_SCORING_MIN_APPLICATIONS", default=20)
MONITORING_SCORING_ERROR_RATE = env.float("MONITORING_SCORING_ERROR_RATE", default=0.05)
MONITORING_QUEUE_BACKLOG = env_int("MONITORING_QUEUE_BACKLOG", default=1000)
# Where alerts go: email (Django's mail backend, EMAIL_URL) and a webhook signed as partners' webhooks are.
MONITORING_ALERT_EMAILS = env.list("MONITORING_ALERT_EMAILS", default=[])
MONITORING_ALERT_WEBHOOK_URL = env.str("MONITORING_ALERT_WEBHOOK_URL", default="")
MONITORING_ALERT_WEBHOOK_SECRET = env.str("MONITORING_ALERT_WEBHOOK_SECRET", default="")
if MONITORING_ALERT_WEBHOOK_URL and (
    not MONITORING_ALERT_WEBHOOK_URL.startswith(("http://", "https://")) or not MONITORING_ALERT_WEBHOOK_SECRET
):
    raise ImproperlyConfigured("MONITORING_ALERT_WEBHOOK_URL: needs an http(s) URL and MONITORING_ALERT_WEBHOOK_SECRET")
_email = {name: value for name, value in env.email_url("EMAIL_URL", default="consolemail://").items() if value}
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="finai-alerts@localhost")

# Transaction clustering: each data set an experiment may name, and the `clustering.datasets.ClusteringDataset`
# its holder declares, so the engine reads lending's tables without importing lending (resolved when a run reads).
CLUSTERING_DATASETS = {"berka": "lending.selectors.BERKA_CLUSTERING_DATASET"}

# --- Partner REST API (lending.api) ------------------------------------------------------------------
# Rate limits count in the cache: Redis when REDIS_URL is set, so every web process shares one count;
# otherwise each process counts alone (fine for the demo's single server).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "finai"}}
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/minute")  # per partner (or staff user, or address)
API_WEBHOOK_TIMEOUT_SECONDS = env_int("API_WEBHOOK_TIMEOUT_SECONDS", default=10)
API_WEBHOOK_MAX_ATTEMPTS = env_int("API_WEBHOOK_MAX_ATTEMPTS", default=8)
API_WEBHOOK_BACKOFF_SECONDS = env_int("API_WEBHOOK_BACKOFF_SECONDS", default=30)  # doubles per retry, up to 1 h
# How long an Idempotency-Key is remembered: long enough for a partner's retry queue to outlast a weekend outage.
API_IDEMPOTENCY_KEY_TTL_HOURS = env_int("API_IDEMPOTENCY_KEY_TTL_HOURS", default=7 * 24)
SPECTACULAR_SETTINGS = {
    "TITLE": "FinAI partner API",
    "DESCRIPTION": "Submit credit applications, receive explained decisions, report repayment. See /api/docs/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "lending.models.LoanApplication.Status",
        "BatchStatusEnum": "lending.models.Batch.Status",
        "BatchRowStatusEnum": "lending.models.BatchItem.Status",
        "RepaymentStatusEnum": "lending.models.RepaymentOutcome.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lending.api.openapi.postprocess_strict_inputs",
    ],
}

# The creditor named on adverse-action notices (Regulation B, 12 CFR 1002.9(b)(1) and Appendix A).
CREDITOR_NAME = env.str("CREDITOR_NAME", default="FinAI Lending")
CREDITOR_ADDRESS = env.str("CREDITOR_ADDRESS", default="1 Example Street, Springfield, ST 00000")
CREDITOR_REGULATOR = env.str(
    "CREDITOR_REGULATOR",
    default="Federal Trade Commission, Consumer Response Center, 600 Pennsylvania Avenue NW, Washington, DC 20580",
)
