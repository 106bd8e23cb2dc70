"""Small building blocks shared by every app's API: strict serializers and permission checks."""

from __future__ import annotations

import codecs
import math
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.http import Http404
from knox.auth import TokenAuthentication
from rest_framework import parsers, serializers
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAcceptable, ParseError, Throttled
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle, UserRateThrottle
from rest_framework.utils import json

from rmos_site.errors import ValidationFailed
from rmos_site.numbers import whole_number


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, stricter where ``json`` lets a body through ambiguous or as a 500.

    A key given twice in one object is a 400 naming it (``json`` keeps the last value silently,
    so ``{"version": 3, …, "version": 1}`` meant whatever the last writer of the body put last).
    A body nested deeper than Python's stack is a 400 like any malformed body (``json`` raises
    ``RecursionError``, which DRF lets through as a 500).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant if self.strict else None,
                object_pairs_hook=_refuse_duplicate_keys,
            )
        except _DuplicateKey as exc:
            key = exc.key if len(exc.key) <= 100 else exc.key[:97] + "..."
            raise ValidationFailed.single(
                key, "duplicate_key", "given twice in one object; give each field once"
            ) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply") from None


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with answers that say what is on offer when nothing fits.

    ``?format=`` naming a format this endpoint lacks is a 400 on the ``format`` parameter listing
    the ones it has (DRF answers a bare 404); an ``Accept`` header it cannot satisfy is a 406 that
    names the media types it can send.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404:
            formats = ", ".join(dict.fromkeys(renderer.format for renderer in renderers))
            raise ValidationFailed.single("format", "choice", f"must be one of: {formats} (on this endpoint)") from None
        except NotAcceptable:
            types = ", ".join(dict.fromkeys(renderer.media_type for renderer in renderers))
            raise NotAcceptable(
                f"This endpoint answers {types}; send an Accept header that allows one of them."
            ) from None


def single_query_params(request) -> dict[str, str]:
    """The query string as one value per parameter; a parameter given twice is a 400 naming it
    (``QueryDict.dict()`` would quietly keep the last one)."""
    for key, values in request.query_params.lists():
        if len(values) > 1:
            raise ValidationFailed.single(key, "single_value", "give this parameter once")
    return request.query_params.dict()


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses keys it does not declare (DRF silently drops them otherwise)."""

    def to_internal_value(self, data):
        unknown_errors = {}
        if isinstance(data, dict):
            known = ", ".join(name for name, f in self.fields.items() if not f.read_only)
            unknown_errors = {
                key: [serializers.ErrorDetail(f"unknown field; known fields: {known}", code="unknown_field")]
                for key in sorted(set(data) - set(self.fields), key=str)
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown_errors and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown_errors}) from None
            raise
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value


class StrictBooleanField(serializers.BooleanField):
    """Only JSON ``true`` / ``false``; not 1, "yes" or "true"."""

    default_error_messages = {"invalid": "must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    """Only JSON integers (``5``, or ``5.0``); not strings, booleans or fractions."""

    default_error_messages = {"invalid": "must be a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        if isinstance(data, float) and (not math.isfinite(data) or data != int(data)):
            self.fail("invalid")
        return super().to_internal_value(int(data))


class StrictQueryInteger(serializers.IntegerField):
    """A whole number in a query string: digits only ("5"), not "5.0" or "5e2"."""

    # Rule "type" and this wording, as the log and analytics filters report a non-number.
    default_error_messages = {"type": "must be a whole number"}

    def to_internal_value(self, data):
        if not isinstance(data, str) or whole_number(data.strip()) is None:  # spaces around, as every filter takes them
            self.fail("type")
        return super().to_internal_value(data.strip())


class StrictDecimalField(serializers.DecimalField):
    """Only JSON numbers; they keep their written precision (0.1 stays 0.1).

    ``above`` documents an exclusive lower bound that the service checks (with its own message):
    the OpenAPI schema says ``minimum: above, exclusiveMinimum: true`` instead of the range that
    ``max_digits`` alone would suggest.
    """

    def __init__(self, *args, above: Decimal | int | None = None, **kwargs):
        self.above = above
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float, Decimal)):
            self.fail("invalid")
        if isinstance(data, float):
            if not math.isfinite(data):
                self.fail("invalid")
            data = repr(data)
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Only JSON strings; DRF would otherwise turn numbers into text."""

    default_error_messages = {"invalid": "must be text."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def permission_for_writes(perm: str) -> type[BasePermission]:
    """A permission class: reads need a signed-in user, writes need ``perm`` as well."""

    class _WritePermission(BasePermission):
        message = f"This change needs the '{perm}' permission."

        def has_permission(self, request, view) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            return request.method in SAFE_METHODS or user.has_perm(perm)

    _WritePermission.__name__ = f"WritePermission[{perm}]"
    return _WritePermission


class _UntilASlotFrees:
    """``wait()`` = seconds until the request count in the window drops below the limit.

    DRF answers None (no ``Retry-After``) when more requests than the limit are on record, e.g.
    after the rate was lowered; then the client has nothing to go by."""

    def wait(self) -> float:
        if len(self.history) < self.num_requests:
            return 0.0
        # Newest first: the request that must leave the window for one to fit is the limit-th.
        deciding = self.history[self.num_requests - 1] if self.num_requests else self.now
        return max(self.duration - (self.now - deciding), 1.0)


class IngestRateThrottle(_UntilASlotFrees, UserRateThrottle):
    """Ingestion requests (POST) per account (rate ``RMOS_THROTTLE_INGEST``); reads are not counted."""

    scope = "ingest"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        # DRF reads the account's request history from the cache, then writes it back: two
        # processes doing that at once both see room (a 30/min limit let 41 of 60 simultaneous
        # posts through). One transaction per account key makes the read-and-write one step:
        # SQLite transactions begin IMMEDIATE (one writer), PostgreSQL takes an advisory lock.
        key = self.get_cache_key(request, view)
        if key is None:
            return super().allow_request(request, view)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
            return super().allow_request(request, view)


def client_address(request) -> str:
    """The client's address as every limit here sees it: ``REMOTE_ADDR``, or behind
    ``RMOS_NUM_PROXIES`` proxies the address they forwarded (DRF's rule; the login lockout too)."""
    return BaseThrottle().get_ident(request)


class AuthFailureThrottle(_UntilASlotFrees, SimpleRateThrottle):
    """Failed token authentications per client address (rate ``RMOS_THROTTLE_AUTH_FAILURES``).

    Only failures are counted, so a client with a good token is never slowed down; a client that
    keeps guessing gets 429 before its guesses are even checked.
    """

    scope = "auth_failure"

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request) -> float | None:
        """Seconds to wait when this client has used up its failures, else None."""
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.wait()
        return None

    def record_failure(self) -> None:
        self.throttle_success()


def _lock_directory() -> Path:
    return _lock_directory_for(str(connection.settings_dict["NAME"]))


@lru_cache(maxsize=8)
def _lock_directory_for(name: str) -> Path:
    """Beside the SQLite database (a place this server can write, or SQLite could not either);
    the temporary directory for an in-memory database. Made once per database, not per request."""
    base = Path(tempfile.gettempdir()) if name == ":memory:" or "mode=memory" in name else Path(name).resolve().parent
    directory = base / "rmos-locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def _one_at_a_time(key: str) -> Iterator[None]:
    """Across processes, one holder of ``key`` at a time: a transaction-scoped advisory lock on
    PostgreSQL (any number of hosts), a file lock on SQLite (which serves one machine). Nothing
    is written to take it, so SQLite's single writer is not involved."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
            yield
        return
    import fcntl  # SQLite deployments run on Linux or another POSIX system

    directory = _lock_directory()
    # 4,096 lock files at most: two addresses rarely share one (and so never wait on each other).
    with open(directory / f"auth-{zlib.crc32(key.encode()) % 4096:03x}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ThrottledTokenAuthentication(TokenAuthentication):
    """Token authentication (django-rest-knox: tokens stored hashed, with expiry), with a cap on
    failed attempts per client address.

    The header is split once, on any whitespace, as authentication splits it: the decision to
    count a request and the credential it is checked with come from the same parse (a throttle
    that looked for "token " let "Token<TAB>guess" through uncounted).

    Checking the count, looking the token up and counting a failure happen one request at a time
    per address: else a burst of simultaneous guesses all passed the check before any was
    counted (29 guesses were answered at a limit of 10 in a review). A good token costs a lock
    and a read, never a write; the lock is held for one indexed lookup.
    """

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.authenticate_header(request).lower().encode():
            return None  # no token offered: session authentication's turn
        throttle = AuthFailureThrottle()
        with _one_at_a_time(throttle.get_cache_key(request)):
            wait = throttle.blocked(request)
            if wait is None:
                try:
                    return self._check(parts)
                except AuthenticationFailed as exc:
                    throttle.record_failure()
                    failure = exc
        if wait is not None:
            raise Throttled(
                wait=wait, detail="Too many failed token authentications from this address; wait and retry."
            )
        raise failure

    def _check(self, parts: list[bytes]):
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid token header: send 'Authorization: Token <key>'.")
        if not parts[1].isascii():  # knox would fail to decode it (a 500)
            raise AuthenticationFailed("Invalid token.")
        return self.authenticate_credentials(parts[1])
