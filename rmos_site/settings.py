"""Django settings: one base, differences only from environment variables (rmos_site/env.py)."""

from __future__ import annotations

from datetime import timedelta

from rmos_site import env as _env

ENV = _env.load()
BASE_DIR = _env.BASE_DIR

DEBUG = ENV.debug
SECRET_KEY = ENV.secret_key
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "rmos_site",
    "profiles",
    "ailog",
    "analytics",
    "django_tasks",
    "django_tasks_db",
    "tuning",
    "dashboard",
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "rmos_site.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rmos_site.middleware.api_responses",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a sign-in refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rmos_site.urls"
WSGI_APPLICATION = "rmos_site.wsgi.application"

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
                "dashboard.context_processors.change_requests_awaiting",
            ],
        },
    },
]

DATABASES = {"default": ENV.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background tasks (tuning jobs, DESIGN §11) in the product's own database: django-tasks with
# django-tasks-db's backend; `manage.py db_worker` runs them (./dev start starts one).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in lockout (django-axes) on /accounts/login/ and /admin/login/: after
# RMOS_LOGIN_FAILURE_LIMIT wrong passwords for one account from one address, that pair is refused
# (429, rmos_site.accounts.lockout_response) for RMOS_LOGIN_LOCKOUT_MINUTES, the right password too; a
# success clears the count. Per pair, so neither a guesser elsewhere nor a colleague behind the
# same address can lock a person out. Failures are kept in the database (every process sees them);
# `manage.py axes_reset_username NAME` unlocks at once. Addresses as the API throttles see them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = ENV.login_failure_limit
AXES_COOLOFF_TIME = timedelta(minutes=ENV.login_lockout_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "rmos_site.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "rmos_site.api.client_address"
AXES_VERBOSE = False

# Mail: only the password reset sends any. Without RMOS_EMAIL_URL there is no reset (its pages are
# 404 and the sign-in page offers none): it would say "sent" and send nothing.
PASSWORD_RESET_BY_MAIL = ENV.email is not None
if ENV.email:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = ENV.email["EMAIL_HOST"]
    EMAIL_PORT = ENV.email["EMAIL_PORT"]
    EMAIL_HOST_USER = ENV.email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = ENV.email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = ENV.email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = ENV.email["EMAIL_USE_SSL"]
    EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = ENV.email_from

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/rmos/ai-ops/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Only collectstatic would fill it (whitenoise serves from the finders), but whitenoise warns in
# every worker when it is missing.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app directories, so no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Security: on by default when DEBUG is off (see env.py for the switches).
SECURE_SSL_REDIRECT = ENV.secure_ssl_redirect
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = ENV.secure_hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = ENV.secure_hsts_seconds > 0
SECURE_HSTS_PRELOAD = ENV.secure_hsts_seconds > 0
SESSION_COOKIE_SECURE = ENV.secure_cookies
CSRF_COOKIE_SECURE = ENV.secure_cookies
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if ENV.secure_proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Request bodies: ingestion batches are large JSON documents (up to 50,000 attempts).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes a missing credential a 401, not a 403.
        "rmos_site.api.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rmos_site.api.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "rmos_site.api.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "rmos_site.schema.AutoSchema",
    "EXCEPTION_HANDLER": "rmos_site.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {"ingest": ENV.throttle_ingest, "auth_failure": ENV.throttle_auth_failures},
    # Client addresses come from REMOTE_ADDR unless we are told how many proxies to trust.
    "NUM_PROXIES": ENV.num_proxies,
}

# API tokens (rmos_site.tokens): stored as SHA-512 only; the first 15 characters ("rmos_" and ten
# digits) are kept in the clear to tell tokens apart. Expiry is per token; no sliding renewal.
REST_KNOX = {
    "TOKEN_PREFIX": "rmos_",
    "TOKEN_TTL": timedelta(days=ENV.api_token_days) if ENV.api_token_days else None,
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}

# Shared by every app process (throttle counters must not live in one process): a database table.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "rmos_cache",
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RMOS AI Ops & Profile Tuning API",
    "DESCRIPTION": "Control plane for the constraint-aware rosette-design generator.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rmos_site.schema.add_error_responses",
    ],
}

# The product's own settings, as read from the environment.
RMOS_PROFILE_YAML_PATH = ENV.profile_yaml_path
RMOS_PROFILE_HISTORY_PATH = ENV.profile_history_path
ENABLE_RMOS_PROFILE_ADMIN = ENV.enable_profile_admin
RMOS_CATALOG_PATH = ENV.catalog_path
# Compute the prediction stored for each saved version in the background (analytics.services.predictions).
RMOS_PREDICT_ON_SAVE = ENV.predict_on_save

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "rmos": {"level": "INFO"},
        # Replaces Django's own console handler so that nothing is printed twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
