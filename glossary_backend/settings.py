"""Settings for every use (development, tests, production), read from the environment.

This module is the only reader of the environment; the README lists every variable.
"""

import datetime
from pathlib import Path

import environ
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Development: `make run` writes a git-ignored .env (DEBUG=true) so that manage.py
# commands in the checkout run like its server. A variable set in the environment wins.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "The SECRET_KEY environment variable is required when DEBUG is off."
        )
    # Development only: a key generated once per checkout, kept out of git, so that
    # admin sessions survive the development server's reloads.
    dev_key_file = BASE_DIR / ".dev-secret-key"
    if not dev_key_file.exists():
        dev_key_file.write_text(get_random_secret_key())
    SECRET_KEY = dev_key_file.read_text().strip()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (*default_headers, "x-preview-token")
if DEBUG and not CORS_ALLOWED_ORIGINS:
    # Development: a frontend on this machine, whatever its port, may call the API.
    CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"]
# Where the admin's "View site" goes: the frontend, or this backend's landing page.
FRONTEND_URL = env.str("FRONTEND_URL", default="")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "strawberry_django",
    "django_filters",
    "reversion",
    "nested_admin",
    "terms",
    "quizzes",
    "analytics",
    "delivery",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "glossary_backend",
]

MIDDLEWARE = [
    "glossary_backend.stack.StackRoomMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "glossary_backend.preview.PreviewTokenMiddleware",
    "glossary_backend.routers.ReplicaRoutingMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin logins: after 5 failures for one username from one address, locked for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "glossary_backend.clients.client_address"
# The lockout page says when to try again (HTTP 429 with Retry-After).
AXES_LOCKOUT_CALLABLE = "glossary_backend.views.login_locked_out"

# Benchmarks serve extra comparison views with ROOT_URLCONF=bench.urls.
ROOT_URLCONF = env.str("ROOT_URLCONF", default="glossary_backend.urls")
WSGI_APPLICATION = "glossary_backend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The site's own admin templates (admin/base_site.html) come before the admin's.
        "DIRS": [BASE_DIR / "glossary_backend" / "templates"],
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

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, able to change columns that generated columns read.
    DATABASES["default"]["ENGINE"] = "glossary_backend.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # One slow query must not hold a worker: cap every statement and the connect wait.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5),
            "options": "-c statement_timeout="
            + str(env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=15_000)),
        }
    )
    # Behind a transaction pooler (PgBouncer pool_mode=transaction) consecutive
    # transactions may run on different server sessions: no prepared statements (psycopg 3
    # would prepare a query on one session and run it on another), no cursor held past its
    # transaction (glossary_backend/postgresql), and no startup options, which PgBouncer
    # refuses: the statement timeout is then the role's (README, "PgBouncer").
    DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
    if DATABASE_POOLER not in ("", "transaction"):
        raise ImproperlyConfigured('DATABASE_POOLER must be "transaction" or empty.')
    if DATABASE_POOLER:
        DATABASES["default"]["POOLER"] = DATABASE_POOLER
        DATABASES["default"]["OPTIONS"].pop("options")
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    # Read replicas for anonymous GraphQL reads (glossary_backend/routers.py), each with the
    # primary's settings but its own address. In tests a replica serves the test database
    # the primary's streams to it; it never creates one.
    for number, url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
        replica = {**DATABASES["default"], **env.db_url_config(url)}
        replica["ENGINE"] = DATABASES["default"]["ENGINE"]
        replica["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], **replica.get("OPTIONS", {})}
        replica["REPLICA_OF"] = "default"
        replica["TEST"] = {"MIRROR": "default"}
        DATABASES[f"replica{number}"] = replica
    DATABASE_ROUTERS = ["glossary_backend.routers.ReplicaRouter"]

elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # SQLite as a web app's database: readers never wait for the writer (WAL), a write
    # takes the lock when its transaction begins (IMMEDIATE), so concurrent writers queue
    # for up to DATABASE_BUSY_TIMEOUT seconds instead of failing with "database is
    # locked" halfway through; NORMAL sync is durable in WAL mode except on power loss.
    # PRAGMA optimize keeps the planner's statistics current (docs/performance.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("DATABASE_BUSY_TIMEOUT", default=20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA optimize=0x10002",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")

# Production posture: HTTPS is terminated by a proxy in front of the app server.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Off by default so that plain-HTTP loopback use (tests, local runs) works; production
# turns it on (see the README's deployment section).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

# Limits of the public GraphQL endpoint (see glossary_backend/security.py). The largest
# legitimate frontend operations measure well below them (README, "Limits").
GRAPHQL_MAX_BODY_BYTES = env.int("GRAPHQL_MAX_BODY_BYTES", default=64 * 1024)
GRAPHQL_MAX_QUERY_CHARS = env.int("GRAPHQL_MAX_QUERY_CHARS", default=10_000)
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=15)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=1000)
# The most fields an operation may produce, computed before it runs (glossary_backend/cost.py).
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=25_000)
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)
# Production hardening: anonymous callers may only run registered (trusted) documents
# (glossary_backend/documents.py); staff, preview and token callers may still send text.
GRAPHQL_TRUSTED_DOCUMENTS_ONLY = env.bool("GRAPHQL_TRUSTED_DOCUMENTS_ONLY", default=False)
# HTTP caching of anonymous GET answers (glossary_backend/caching.py): how long browsers
# and CDNs may keep them, and serve them stale while they fetch a fresh copy.
GRAPHQL_CACHE_MAX_AGE = env.int("GRAPHQL_CACHE_MAX_AGE", default=60)
GRAPHQL_CACHE_STALE_WHILE_REVALIDATE = env.int("GRAPHQL_CACHE_STALE_WHILE_REVALIDATE", default=300)

# Django's cache: local memory per process by default; CACHE_URL=redis://host:6379/0 shares
# it (and the response cache's invalidations) between processes and servers.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
CACHES["default"].setdefault("KEY_PREFIX", "glossary")
_PROCESS_LOCAL_CACHE = (
    CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
)
if _PROCESS_LOCAL_CACHE:
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 10_000)
# The origin's own cache of anonymous trusted-document answers, invalidated by surrogate
# keys when content changes; 0 turns it off. In local memory an invalidation reaches only
# the process that made the change (not the other workers, not a command's writes): there
# an answer lives no longer than browsers and CDNs keep it.
GRAPHQL_RESPONSE_CACHE_SECONDS = env.int(
    "GRAPHQL_RESPONSE_CACHE_SECONDS",
    default=GRAPHQL_CACHE_MAX_AGE if _PROCESS_LOCAL_CACHE else 3600,
)

# Quiz submissions per client address: (window in seconds, most submissions in it).
SUBMISSION_RATE_LIMITS = [
    (60, env.int("SUBMISSIONS_PER_MINUTE", default=30)),
    (3600, env.int("SUBMISSIONS_PER_HOUR", default=300)),
]
# How long a started quiz attempt may take before its token no longer submits.
ATTEMPT_TOKEN_HOURS = env.int("ATTEMPT_TOKEN_HOURS", default=24)
if ATTEMPT_TOKEN_HOURS < 1:
    raise ImproperlyConfigured("ATTEMPT_TOKEN_HOURS must be at least 1.")
# Read replicas: how long a client that wrote reads from the primary (its own writes are
# there before a replica replays them), and how long a replica that failed to connect
# is left alone before it is tried again.
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=10)
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=30)
# Rows per daily roll-up key: concurrent submissions of one quiz update different rows
# (analytics/rollups.py). 1 is a single row per key, as before sharding.
ROLLUP_SHARDS = env.int("ROLLUP_SHARDS", default=8)
if ROLLUP_SHARDS < 1:
    raise ImproperlyConfigured("ROLLUP_SHARDS must be at least 1.")
# How many proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Preview links: where the admin's "Preview" button sends an editor (a frontend route that
# turns on its draft mode), and how long a token lives unless asked otherwise.
FRONTEND_PREVIEW_URL = env.str(
    "FRONTEND_PREVIEW_URL",
    default="http://localhost:3000/api/draft?token={token}&type={type}&slug={slug}",
)
PREVIEW_TOKEN_MINUTES = env.int("PREVIEW_TOKEN_MINUTES", default=60)
# Where the frontend shows a term and a chapter: the links inside definitions, Term.url,
# JSON-LD and the exports' identifiers. "{slug}" is replaced by the slug.
FRONTEND_TERM_URL = env.str(
    "FRONTEND_TERM_URL", default="https://glossary.example.com/terms/{slug}"
)
FRONTEND_CHAPTER_URL = env.str(
    "FRONTEND_CHAPTER_URL", default="https://glossary.example.com/chapters/{slug}"
)
for _name, _template in [
    ("FRONTEND_TERM_URL", FRONTEND_TERM_URL),
    ("FRONTEND_CHAPTER_URL", FRONTEND_CHAPTER_URL),
]:
    if not _template.startswith(("https://", "http://")) or "{slug}" not in _template:
        raise ImproperlyConfigured(f"{_name} must be an http(s) URL containing {{slug}}.")

# Change delivery (the delivery app; README, "Deploying at scale"). The worker runs
# Django tasks: on the database by default (`make worker`), on Redis with RQ at scale.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
_TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
    "immediate": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}.")
TASKS = {"default": _TASK_BACKENDS[TASKS_BACKEND]}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]  # `manage.py rqworker`
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300}}
# How often `manage.py delivery_clock` runs the sweep (scheduled changes, retries).
DELIVERY_SWEEP_SECONDS = env.int("DELIVERY_SWEEP_SECONDS", default=30)
# Events (and their delivery log) are kept this long for the `changes` feed.
CHANGE_RETENTION_DAYS = env.int("CHANGE_RETENTION_DAYS", default=30)
CDN_PURGER = env.str("CDN_PURGER", default="none")
CDN_PURGE_URL = env.str("CDN_PURGE_URL", default="")
CDN_PURGE_TOKEN = env.str("CDN_PURGE_TOKEN", default="")
FASTLY_SERVICE_ID = env.str("FASTLY_SERVICE_ID", default="")
FASTLY_API_TOKEN = env.str("FASTLY_API_TOKEN", default="")
CLOUDFLARE_ZONE_ID = env.str("CLOUDFLARE_ZONE_ID", default="")
CLOUDFLARE_API_TOKEN = env.str("CLOUDFLARE_API_TOKEN", default="")
for _purger, _needed in {
    "http": ["CDN_PURGE_URL"],
    "fastly": ["FASTLY_SERVICE_ID", "FASTLY_API_TOKEN"],
    "cloudflare": ["CLOUDFLARE_ZONE_ID", "CLOUDFLARE_API_TOKEN"],
}.items():
    _missing = [name for name in _needed if _purger == CDN_PURGER and not globals()[name]]
    if _missing:
        raise ImproperlyConfigured(f"CDN_PURGER={_purger} needs {', '.join(_missing)}.")
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
# After "Rotate secret", the previous secret keeps signing this long.
WEBHOOK_SECRET_GRACE_HOURS = env.int("WEBHOOK_SECRET_GRACE_HOURS", default=24)
# Webhooks to loopback and private addresses: off (SSRF); on for local receivers only.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)

STRAWBERRY_DJANGO = {
    "FIELD_DESCRIPTION_FROM_HELP_TEXT": True,
    "TYPE_DESCRIPTION_FROM_MODEL_DOCSTRING": True,
    "GENERATE_ENUMS_FROM_CHOICES": True,
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
    "PAGINATION_DEFAULT_LIMIT": 50,
    "PAGINATION_MAX_LIMIT": 100,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_on_one_line": {"()": "glossary_backend.log.RefusalsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # 403, 404, 429...: one line each ("Forbidden (Permission denied): /admin/..."),
        # without the traceback Django attaches; 5xx keep theirs.
        "django.request": {"filters": ["refusals_on_one_line"]},
    },
}

# Email (the staff password reset): EMAIL_URL such as smtp+tls://user:password@host:587;
# development prints messages to the console.
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_HOST = EMAIL_CONFIG.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = EMAIL_CONFIG.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = EMAIL_CONFIG.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = EMAIL_CONFIG.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = EMAIL_CONFIG.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="glossary@localhost")
