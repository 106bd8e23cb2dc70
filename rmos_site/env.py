"""Every environment variable the product reads, read here and nowhere else (DESIGN.md §7).

Settings import the values below; application code imports settings. A bad value fails at
start-up with a message that names the variable and says what it accepts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigurationError(RuntimeError):
    """An environment variable is missing or malformed."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r}: expected true or false")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r}: expected a whole number") from None


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ConfigurationError(f"{name}={value}: expected a whole number of 1 or more")
    return value


def _days(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 0:
        raise ConfigurationError(f"{name}={value}: expected a number of days, or 0 for never")
    return value


def _rate(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip() or default
    count, _, period = raw.partition("/")
    if not count.isdigit() or period not in {"s", "sec", "m", "min", "h", "hour", "d", "day"}:
        raise ConfigurationError(f"{name}={raw!r}: expected a rate such as 600/min (per s, min, hour or day)")
    return raw


def _list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _path(name: str, default: Path | None) -> Path | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else BASE_DIR / path


def parse_database_url(url: str) -> dict:
    """Turn ``sqlite:///path`` or ``postgres://user:pass@host:port/name`` into Django settings."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query))
    if scheme == "sqlite":
        # sqlite:///relative/path.sqlite3 and sqlite:////absolute/path.sqlite3
        raw_path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not raw_path:
            raise ConfigurationError(f"DATABASE_URL={url!r}: give a file, e.g. sqlite:///var/db.sqlite3")
        path = Path(raw_path)
        return sqlite_settings(path if path.is_absolute() else BASE_DIR / path)
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigurationError(f"DATABASE_URL={url!r}: the database name is missing")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 60)),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
            "TEST": {"NAME": f"test_{name}"},
        }
    raise ConfigurationError(f"DATABASE_URL={url!r}: unsupported scheme {scheme!r}; use sqlite:///path or postgres://…")


_EMAIL_SCHEMES = {"smtp": (25, False, False), "smtp+tls": (587, True, False), "smtps": (465, False, True)}


def parse_email_url(url: str) -> dict:
    """``smtp://user:pass@host:port`` (``smtp+tls://`` for STARTTLS, ``smtps://`` for TLS from the
    first byte) into Django's EMAIL_* settings."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _EMAIL_SCHEMES or not parts.hostname:
        raise ConfigurationError(
            f"RMOS_EMAIL_URL={url!r}: expected smtp://, smtp+tls:// or smtps://user:password@host:port"
        )
    default_port, use_tls, use_ssl = _EMAIL_SCHEMES[scheme]
    return {
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }


def sqlite_settings(path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its directory
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # Writers take the lock when their transaction begins, so a read-then-write
            # (version check, then save) cannot interleave with another writer.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                # 16 KiB pages (set before WAL, so it takes on a new file): the log's tables carry
                # several indexes, and bigger pages mean fewer pages written and synced per
                # checkpoint - ingestion is about 35% faster on this kind of disk.
                "PRAGMA page_size=16384;"
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA cache_size=-65536;"
                "PRAGMA mmap_size=268435456;"
            ),
        },
        # A file, not memory: tests run concurrent writers on separate connections.
        "TEST": {"NAME": str(path.with_name(f"test_{path.stem}.sqlite3"))},
    }


@dataclass(frozen=True)
class Env:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    database: dict
    profile_yaml_path: Path
    profile_history_path: Path | None
    enable_profile_admin: bool
    catalog_path: Path | None
    secure_ssl_redirect: bool
    secure_hsts_seconds: int
    secure_cookies: bool
    secure_proxy_ssl_header: bool
    throttle_ingest: str
    throttle_auth_failures: str
    num_proxies: int
    api_token_days: int
    login_failure_limit: int
    login_lockout_minutes: int
    email: dict | None
    email_from: str
    predict_on_save: bool


def load() -> Env:
    debug = _bool("DJANGO_DEBUG", False)
    secret_key = os.environ.get("DJANGO_SECRET_KEY", "")
    if not secret_key:
        if not debug:
            raise ConfigurationError(
                "DJANGO_SECRET_KEY is not set. Set it to a long random string, "
                "or set DJANGO_DEBUG=true for local development."
            )
        secret_key = "insecure-local-development-key-not-for-deployment"
    default_db = "sqlite:///var/rmos.sqlite3"
    return Env(
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if debug else []),
        csrf_trusted_origins=_list("DJANGO_CSRF_TRUSTED_ORIGINS", []),
        database=parse_database_url(os.environ.get("DATABASE_URL", "").strip() or default_db),
        profile_yaml_path=_path("RMOS_PROFILE_YAML_PATH", BASE_DIR / "rmos_site/config/rmos_constraint_profiles.yaml"),
        profile_history_path=_path("RMOS_PROFILE_HISTORY_PATH", None),
        enable_profile_admin=_bool("ENABLE_RMOS_PROFILE_ADMIN", False),
        catalog_path=_path("RMOS_CATALOG_PATH", None),
        # Secure by default once DEBUG is off; each can be switched off for a deployment
        # behind a TLS-terminating proxy that already does the job.
        secure_ssl_redirect=_bool("DJANGO_SECURE_SSL_REDIRECT", not debug),
        secure_hsts_seconds=_int("DJANGO_SECURE_HSTS_SECONDS", 0 if debug else 31_536_000),
        secure_cookies=_bool("DJANGO_SECURE_COOKIES", not debug),
        secure_proxy_ssl_header=_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False),
        throttle_ingest=_rate("RMOS_THROTTLE_INGEST", "3000/min"),
        throttle_auth_failures=_rate("RMOS_THROTTLE_AUTH_FAILURES", "20/min"),
        num_proxies=_int("RMOS_NUM_PROXIES", 0),
        api_token_days=_days("RMOS_API_TOKEN_DAYS", 365),
        login_failure_limit=_positive("RMOS_LOGIN_FAILURE_LIMIT", 10),
        login_lockout_minutes=_positive("RMOS_LOGIN_LOCKOUT_MINUTES", 15),
        email=parse_email_url(os.environ["RMOS_EMAIL_URL"]) if os.environ.get("RMOS_EMAIL_URL", "").strip() else None,
        email_from=os.environ.get("RMOS_EMAIL_FROM", "").strip() or "rmos@localhost",
        predict_on_save=_bool("RMOS_PREDICT_ON_SAVE", True),
    )
