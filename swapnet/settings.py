"""swapnet settings: one module, every deployment choice read from the environment.

With no environment variables this is the embedded default: SQLite, the in-memory channel
layer, Celery tasks run eagerly, the sandbox payment provider. ``DATABASE_URL`` and
``REDIS_URL`` switch to the real mode (PostgreSQL; Redis as channel layer, broker and cache).
The variables are listed in README.md.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from swapnet import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.text("SWAPNET_DATA_DIR") or BASE_DIR / "var")

DEBUG = env.flag("SWAPNET_DEBUG", False)
_DEV_SECRET_KEY = "swapnet-embedded-default-not-secret-do-not-deploy"  # noqa: S105 - refused when SWAPNET_SECURE=1
SECRET_KEY = env.text("SWAPNET_SECRET_KEY") or _DEV_SECRET_KEY
ALLOWED_HOSTS = env.listing("SWAPNET_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.listing("SWAPNET_CSRF_TRUSTED_ORIGINS", [])

# --- Mode -------------------------------------------------------------------------------
_database = env.database("DATABASE_URL", default_sqlite_path=DATA_DIR / "swapnet.sqlite3")
REDIS_URL = env.redis_url("REDIS_URL")
EMBEDDED = _database.engine == "sqlite" and not REDIS_URL
DATABASE_DESCRIPTION = _database.description

# --- Applications -----------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.common",
    "apps.accounts",
    "apps.assets",
    "apps.billing",
    "apps.recommend",
    "apps.ledger",
    "apps.payments",
    "apps.swaps",
    "apps.live",
    "apps.demo",
    "apps.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "swapnet.urls"
WSGI_APPLICATION = "swapnet.wsgi.application"
ASGI_APPLICATION = "swapnet.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# Persistent connections exhaust PostgreSQL under ASGI (each request thread keeps one), so
# the default is 0; a WSGI-only deployment may raise it, an ASGI one should use the pool.
_database.settings["CONN_MAX_AGE"] = env.integer("SWAPNET_DB_CONN_MAX_AGE", 0, minimum=0)
if _database.engine == "postgresql" and env.flag("SWAPNET_DB_POOL", False):
    options = _database.settings.setdefault("OPTIONS", {})
    assert isinstance(options, dict)
    options["pool"] = {
        "min_size": env.integer("SWAPNET_DB_POOL_MIN", 2, minimum=1),
        "max_size": env.integer("SWAPNET_DB_POOL_MAX", 10, minimum=1),
    }
    _database.settings["CONN_MAX_AGE"] = 0
# The ledger prepares the statements a connection runs often (apps.ledger.services.posting);
# off behind a pooler that shares sessions between clients (PgBouncer in transaction mode).
SWAPNET_DB_PREPARED_BATCHES = env.flag("SWAPNET_DB_PREPARED_BATCHES", True)
if _database.engine == "sqlite":
    Path(str(_database.settings["NAME"])).parent.mkdir(parents=True, exist_ok=True)
    # A web request and the demo's scheduler thread write to one file: wait, don't fail.
    _database.settings["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DATABASES = {"default": _database.settings}

# --- Cache, channel layer, Celery -------------------------------------------------------
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A read timeout above the layer's 5 s blocking pop: redis-py 8 defaults to 5 s as
            # well, and a consumer whose pop times out first dies with its WebSocket.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": env.text("SWAPNET_CHANNEL_PREFIX", "swapnet"),
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env.flag("SWAPNET_CELERY_EAGER", False)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True

CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged after it ran, and redelivered if its worker dies: tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Refit the recommender's factor weights from drivers' choices (apps/recommend/training.py).
    "recommend-retrain": {
        "task": "apps.recommend.tasks.retrain_recommender",
        "schedule": timedelta(days=1),
    },
    # Swaps (apps/swaps/tasks.py): skip no-shows, flag stalled swaps, settle; forget old Idempotency-Keys.
    "swaps-cancel-no-shows": {"task": "apps.swaps.tasks.cancel_no_shows", "schedule": timedelta(minutes=1)},
    "swaps-flag-stalled-swaps": {"task": "apps.swaps.tasks.flag_stalled_swaps", "schedule": timedelta(minutes=1)},
    "swaps-settle-orders": {"task": "apps.swaps.tasks.settle_orders", "schedule": timedelta(minutes=15)},
    "common-purge-idempotency-records": {"task": "apps.common.tasks.purge_idempotency_records", "schedule": timedelta(hours=1)},
    # Ledger (apps/ledger/tasks.py): void expired holds; close each account period into statements.
    "ledger-expire-holds": {"task": "apps.ledger.tasks.expire_holds", "schedule": timedelta(minutes=1)},
    "ledger-close-statements": {"task": "apps.ledger.tasks.close_statements", "schedule": timedelta(hours=1)},
    # Payments (apps/payments/tasks.py): repair what lost webhooks missed; pay out closed statements.
    "payments-reconcile": {"task": "apps.payments.tasks.reconcile_payments", "schedule": timedelta(minutes=10)},
    "payments-run-payouts": {"task": "apps.payments.tasks.run_payouts", "schedule": timedelta(hours=1)},
}

# --- Payments -----------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.text("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env.text("STRIPE_WEBHOOK_SECRET")
STRIPE_PUBLISHABLE_KEY = env.text("STRIPE_PUBLISHABLE_KEY")
# "stripe" or "sandbox"; by default Stripe when a Stripe key is set, else the embedded sandbox.
_payment_provider = env.text("SWAPNET_PAYMENT_PROVIDER").lower()
if _payment_provider not in {"", "stripe", "sandbox"}:
    raise env.ConfigError("SWAPNET_PAYMENT_PROVIDER", f"expected stripe or sandbox, got {_payment_provider!r}")
PAYMENT_PROVIDER = _payment_provider or ("stripe" if STRIPE_SECRET_KEY else "sandbox")
if PAYMENT_PROVIDER == "stripe":
    for _name, _value, _prefixes in (
        ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY, ("sk_", "rk_")),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, ("whsec_",)),
        ("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY, ("pk_",)),
    ):
        if not _value:
            raise env.ConfigError(_name, "must be set when the payment provider is Stripe")
        if not _value.startswith(_prefixes):
            raise env.ConfigError(_name, f"expected a key starting with {' or '.join(_prefixes)}")
    if ("_live_" in STRIPE_SECRET_KEY) != ("_live_" in STRIPE_PUBLISHABLE_KEY):
        raise env.ConfigError("STRIPE_PUBLISHABLE_KEY", "is not of the same mode (live or test) as STRIPE_SECRET_KEY")
# The sandbox credits wallets without taking money: with SWAPNET_SECURE=1 only when chosen by name.
PAYMENT_SANDBOX_ENABLED = PAYMENT_PROVIDER == "sandbox" and (
    _payment_provider == "sandbox" or not env.flag("SWAPNET_SECURE", False)
)
# The sandbox signs its events as Stripe does, with this secret (by default one derived from SECRET_KEY).
SANDBOX_WEBHOOK_SECRET = env.text("SWAPNET_SANDBOX_WEBHOOK_SECRET") or (
    "whsec_sandbox_" + hashlib.sha256(f"sandbox-webhook:{SECRET_KEY}".encode()).hexdigest()[:32]
)
# Offered to the payer for a top-up (Stripe's payment method types).
PAYMENT_METHOD_TYPES = env.listing("SWAPNET_PAYMENT_METHOD_TYPES", ["card", "alipay", "wechat_pay"])
TOPUP_MIN_FEN = env.integer("SWAPNET_TOPUP_MIN_FEN", 1_000, minimum=1)
TOPUP_MAX_FEN = env.integer("SWAPNET_TOPUP_MAX_FEN", 5_000_000, minimum=1)
if TOPUP_MAX_FEN < TOPUP_MIN_FEN:
    raise env.ConfigError("SWAPNET_TOPUP_MAX_FEN", f"must be at least SWAPNET_TOPUP_MIN_FEN ({TOPUP_MIN_FEN})")
# Seconds a call to Stripe may take; the library retries connection errors and 5xx this often.
STRIPE_TIMEOUT_S = env.integer("SWAPNET_STRIPE_TIMEOUT_S", 20, minimum=1)
STRIPE_MAX_NETWORK_RETRIES = 2
# Tests give Stripe a recorded-answer HTTP client here (a stripe.HTTPClient); None: the network.
STRIPE_HTTP_CLIENT = None
# Reconciliation re-reads the PaymentIntents created this far back (Stripe retries webhooks for 3 days).
PAYMENTS_RECONCILE_WINDOW = timedelta(days=3)
# A refund's money is held in the ledger until the provider confirms it, at most this long.
PAYMENTS_REFUND_HOLD_TTL = timedelta(days=30)

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Fixed-window limits (apps/accounts/throttling.py): attempts per window, per mobile number and
# per client address. Failed sign-ins count (successful ones are given back); every code
# request counts. Many phones share one IPv4 address behind carrier-grade NAT: keep the
# per-address limits well above the per-number ones.
THROTTLE_LIMITS: dict[str, dict[str, tuple[int, timedelta]]] = {
    "login": {"phone": (10, timedelta(minutes=15)), "address": (30, timedelta(minutes=15))},
    "sms_code": {"phone": (3, timedelta(minutes=15)), "address": (10, timedelta(hours=1))},
    "register": {"address": (20, timedelta(hours=1))},
}
# How many reverse proxies append to X-Forwarded-For in front of the app; 0: trust only
# REMOTE_ADDR (the header can be forged by any client).
TRUSTED_PROXY_COUNT = env.integer("SWAPNET_TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate makes requests without credentials answer 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "apps.common.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The API speaks JSON (API.md); other bodies are refused with 415.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "swapnet API",
    "DESCRIPTION": "The open battery-swap network: phones, station controllers and integrators.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies get their own components, which carry what input needs (minLength 1 on a
    # text that may not be blank, no read-only fields).
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.common.schema.common_errors_documented",
    ],
    # The docs page's JavaScript is installed from PyPI, never fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models name a field "status"; give each choice set its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "CertificationStatusEnum": "apps.accounts.models.CertificationStatus",
        "VerificationStatusEnum": "apps.accounts.models.VerificationStatus",
        "StationStatusEnum": "apps.assets.models.StationStatus",
    },
}

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# The embedded default serves static files straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = EMBEDDED or DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
if EMBEDDED:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# --- Security (production settings switch these on with SWAPNET_SECURE=1) ---------------
SECURE = env.flag("SWAPNET_SECURE", False)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env.flag("SWAPNET_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_HSTS_SECONDS = env.integer("SWAPNET_HSTS_SECONDS", 31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS: list[str] = []
if SECURE and SECRET_KEY == _DEV_SECRET_KEY:
    raise env.ConfigError("SWAPNET_SECRET_KEY", "must be set to a long random value when SWAPNET_SECURE=1")

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.text("SWAPNET_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- swapnet ----------------------------------------------------------------------------
# A station whose controller has not sent a heartbeat for this long is offline.
STATION_OFFLINE_AFTER = timedelta(seconds=env.integer("SWAPNET_STATION_OFFLINE_AFTER_S", 120, minimum=10))
# A battery counts as charged (ready to hand out) at or above this state of charge, in percent.
BATTERY_READY_MIN_CHARGE_PCT = env.integer("SWAPNET_BATTERY_READY_MIN_CHARGE_PCT", 90, minimum=1)
# The serial letters that mark a new-energy plate (GA 36): D battery-electric, F other.
PLATE_NEW_ENERGY_LETTERS = env.text("SWAPNET_PLATE_NEW_ENERGY_LETTERS", "DF")
# Resident ID numbers are encrypted with a key derived from this; keep it apart from SECRET_KEY
# in production (changing it makes stored numbers unreadable).
PERSONAL_DATA_KEY = env.text("SWAPNET_PERSONAL_DATA_KEY") or SECRET_KEY
if SECURE and not env.text("SWAPNET_PERSONAL_DATA_KEY"):
    raise env.ConfigError("SWAPNET_PERSONAL_DATA_KEY", "must be set when SWAPNET_SECURE=1")
SMS_BACKEND = env.text("SWAPNET_SMS_BACKEND", "apps.accounts.sms.ConsoleSmsBackend")
VERIFICATION_PROVIDER = env.text("SWAPNET_VERIFICATION_PROVIDER", "apps.accounts.verification_providers.ManualReviewProvider")
# `manage.py serve` runs stand-in controllers for the stations (apps/swaps/simulator.py) beside the
# server: heartbeats, bay screens, swaps and charging over the controller API (embedded default).
SIMULATE_CONTROLLERS = env.flag("SWAPNET_SIMULATE_CONTROLLERS", EMBEDDED)

# --- Station recommendation (apps/recommend) ----------------------------------------------
# Energy use when the vehicle has too little history of its own: a loaded 49 t tractor on a flat
# expressway (corridor.json, energy_model), in kWh per km.
RECOMMEND_KWH_PER_KM = Decimal("1.5")
# Energy kept in reserve, as a percentage of the energy the vehicle's packs are rated for.
RECOMMEND_RESERVE_PCT = Decimal("10")
# Road distance estimate = geodesic distance x this.
RECOMMEND_DETOUR_FACTOR = 1.2
# Average speed to a station (for the arrival time), km/h.
RECOMMEND_AVERAGE_SPEED_KMH = 60.0
# Charging power per station slot, kW (domain_data.md: 240-300 kW per slot on the demo design).
RECOMMEND_CHARGER_KW = Decimal("240")
# At most this many stations (the nearest reachable) are looked at per request.
RECOMMEND_MAX_CANDIDATES = 20
RECOMMEND_DEFAULT_LIMIT = 5
RECOMMEND_MAX_LIMIT = 20
# Vehicles recommended a station in the last N minutes, with no order yet, count as heading in.
RECOMMEND_HEADING_IN_MINUTES = 30
# A swap order within this long after a recommendation is its outcome (the station chosen).
RECOMMEND_OUTCOME_WINDOW = timedelta(hours=6)
# How long a process trusts its spatial index of stations and its time-of-use calendars before
# checking the database again (and rebuilding the index if stations changed), seconds.
RECOMMEND_RECHECK_SECONDS = env.integer("SWAPNET_RECOMMEND_RECHECK_S", 30, minimum=0)
# Learned weights: versioned files here; a model is trained only from this many choices on.
RECOMMEND_MODEL_DIR = Path(env.text("SWAPNET_RECOMMEND_MODEL_DIR") or DATA_DIR / "models")
RECOMMEND_MIN_TRAINING_CHOICES = env.integer("SWAPNET_RECOMMEND_MIN_TRAINING_CHOICES", 200, minimum=10)
RECOMMEND_MODELS_KEPT = 10

# --- Swaps (apps/swaps) -----------------------------------------------------------------
# A bay screen's QR token is valid this long after it was issued (and for one scan).
QR_TOKEN_LIFETIME = timedelta(seconds=env.integer("SWAPNET_QR_TOKEN_LIFETIME_S", 120, minimum=10))
# A driver called to the bay who has not arrived after this long is skipped (order cancelled).
NO_SHOW_AFTER = timedelta(minutes=env.integer("SWAPNET_NO_SHOW_MINUTES", 15, minimum=1))
# A swap still running after this long is marked abnormal (timeout).
SWAP_TIMEOUT = timedelta(minutes=env.integer("SWAPNET_SWAP_TIMEOUT_MINUTES", 30, minimum=1))
# A bill that differs from its quote by more than this percentage flags the order for review.
QUOTE_TOLERANCE_PCT = env.integer("SWAPNET_QUOTE_TOLERANCE_PCT", 10, minimum=0)
# The energy deposit (fen) a vehicle pays when it first takes a network battery without one to
# return: the default of a new pack standard (each standard's own amount is edited in the admin).
SWAP_ENERGY_DEPOSIT_FEN = env.integer("SWAPNET_SWAP_ENERGY_DEPOSIT_FEN", 100_000, minimum=0)
# A battery above this temperature (°C) is not handed out.
BATTERY_MAX_TEMPERATURE_C = env.integer("SWAPNET_BATTERY_MAX_TEMPERATURE_C", 55, minimum=1)
# A station controller's signed request is accepted this long before or after its timestamp.
CONTROLLER_SIGNATURE_WINDOW = timedelta(seconds=env.integer("SWAPNET_CONTROLLER_SIGNATURE_WINDOW_S", 300, minimum=10))
# Idempotency-Keys are remembered this long; a claim whose request died is taken over after the timeout.
IDEMPOTENCY_RETENTION = timedelta(hours=env.integer("SWAPNET_IDEMPOTENCY_RETENTION_H", 48, minimum=24))
IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(seconds=env.integer("SWAPNET_IDEMPOTENCY_IN_FLIGHT_S", 60, minimum=5))
