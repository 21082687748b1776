"""What the HTTP sources share: timeouts, bounded retries with backoff, secret-free URLs.

A source call either succeeds, fails for a passing reason (`Transient`, `RateLimited`:
retried with exponential backoff and jitter, a bounded number of times), or fails for
good (`SourceFailed`, raised as is). When the retries run out the passing trouble
becomes a `SourceFailed` whose reason says what kept failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import tenacity
from django.conf import settings

from .base import SourceFailed

logger = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = "Adology/1.0 (+https://adology.ai)"
# Query parameters that carry credentials and must never be stored or logged.
SECRET_PARAMS = ("access_token", "api_key", "appsecret_proof")


class Transient(Exception):
    """Worth another try after a pause: a timeout, a 5xx, a dropped connection."""

    def __init__(self, reason: str, *, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RateLimited(Transient):
    """The service asked us to slow down; it gets its own, larger, attempt budget."""


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_attempts: int = 4  # timeouts, 5xx, dropped connections
    rate_limit_max_attempts: int = 8  # rate limits pass if we wait; give them longer
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            base_delay_s=float(getattr(settings, "SOURCE_BACKOFF_BASE_S", cls.base_delay_s)),
            max_delay_s=float(getattr(settings, "SOURCE_BACKOFF_MAX_S", cls.max_delay_s)),
            max_attempts=int(getattr(settings, "SOURCE_MAX_ATTEMPTS", cls.max_attempts)),
            rate_limit_max_attempts=int(
                getattr(settings, "SOURCE_RATE_LIMIT_MAX_ATTEMPTS", cls.rate_limit_max_attempts)
            ),
            connect_timeout_s=float(getattr(settings, "SOURCE_CONNECT_TIMEOUT_S", cls.connect_timeout_s)),
            read_timeout_s=float(getattr(settings, "SOURCE_READ_TIMEOUT_S", cls.read_timeout_s)),
        )


def new_client(policy: RetryPolicy) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=policy.connect_timeout_s,
        read=policy.read_timeout_s,
        write=policy.read_timeout_s,
        pool=policy.connect_timeout_s,
    )
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})


def _stop(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], bool]:
    def stop(state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = policy.rate_limit_max_attempts if isinstance(exc, RateLimited) else policy.max_attempts
        return state.attempt_number >= limit

    return stop


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    backoff = tenacity.wait_exponential_jitter(
        multiplier=policy.base_delay_s, max=policy.max_delay_s, jitter=policy.base_delay_s
    )

    def wait(state: tenacity.RetryCallState) -> float:
        delay = backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        # A Retry-After from the service beats our guess, within our ceiling.
        if isinstance(exc, Transient) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        return min(delay, policy.max_delay_s)

    return wait


def _log_retry(what: str) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "%s: %s; retrying",
            what,
            getattr(exc, "reason", exc),
            extra={
                "attempt": state.attempt_number,
                "sleep_s": round(state.upcoming_sleep, 3),
                "rate_limited": isinstance(exc, RateLimited),
            },
        )

    return before_sleep


def call_with_retries(fn: Callable[[], T], *, policy: RetryPolicy, what: str) -> T:
    """Run `fn`, retrying `Transient` errors; when they persist, raise `SourceFailed`."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Transient),
        stop=_stop(policy),
        wait=_wait(policy),
        before_sleep=_log_retry(what),
        reraise=True,
    )
    try:
        return retrying(fn)
    except RateLimited as exc:
        raise SourceFailed(
            f"{what} kept rate limiting after {policy.rate_limit_max_attempts} attempts: {exc.reason}"
        ) from exc
    except Transient as exc:
        raise SourceFailed(f"{what} kept failing after {policy.max_attempts} attempts: {exc.reason}") from exc


def transport_error_reason(exc: httpx.HTTPError) -> str:
    """A reason for a failed request that names no URL (URLs can carry credentials)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"connection failed ({type(exc).__name__}: {exc})"


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date, or nothing: our own backoff decides


def without_params(url: str, names: Iterable[str] = SECRET_PARAMS) -> str:
    """`url` without the named query parameters (access tokens before a URL is stored)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    drop = set(names)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    return urlunsplit(parts._replace(query=urlencode(query)))


def split_query(url: str) -> tuple[str, dict[str, str]]:
    """`url` without its query, and the query as a dict (the last value of a repeated key)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")), dict(
        parse_qsl(parts.query, keep_blank_values=True)
    )
