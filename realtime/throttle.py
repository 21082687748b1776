"""Run-scoped coordination in Redis, shared by every web and worker process.

- `progress_slot(run_id)`: at most one run.progress per run per interval (leading edge);
  a process that loses the slot schedules a trailing send, which reads the run's counters
  fresh from the database, so the last state always reaches clients.
- `run_lock(run_id)`: run events are sent under it, so a late trailing progress can never
  overtake the run.committed or run.finished that followed it.
- `first_announcement(run_id)`: run.queued is sent exactly once and before anything else about
  the run, even when the worker's first state change races the web process's on_commit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator

import redis
from django.conf import settings
from django.db import close_old_connections, connection

from adology.logging import external_call

logger = logging.getLogger(__name__)

_timers: dict[int, threading.Timer] = {}
_timers_lock = threading.Lock()


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def client() -> redis.Redis | None:
    return _client(settings.REDIS_URL) if settings.REDIS_URL else None


def _key(run_id: int, what: str) -> str:
    prefix = getattr(settings, "CHANNEL_LAYER_PREFIX", "asgi")
    return f"{prefix}:realtime:run:{run_id}:{what}"


def interval_ms() -> int:
    return max(1, int(getattr(settings, "REALTIME_PROGRESS_INTERVAL_SECONDS", 0.25) * 1000))


def progress_slot(run_id: int, *, force: bool = False) -> float | None:
    """None if this caller may send progress now; else seconds until the slot frees up."""
    r = client()
    if r is None:
        return None
    with external_call("redis", "realtime.progress_slot", run_id=run_id):
        if r.set(_key(run_id, "progress"), 1, px=interval_ms(), nx=not force):
            return None
        remaining = r.pttl(_key(run_id, "progress"))
    return max(remaining, 10) / 1000 if remaining and remaining > 0 else 0.01


@contextlib.contextmanager
def run_lock(run_id: int) -> Iterator[None]:
    r = client()
    if r is None:
        yield
        return
    lock = r.lock(_key(run_id, "lock"), timeout=10, blocking_timeout=5)
    with external_call("redis", "realtime.run_lock", run_id=run_id):
        acquired = lock.acquire()
    if not acquired:  # better an event slightly out of order than no event
        logger.warning("realtime run lock not acquired", extra={"run_id": run_id})
    try:
        yield
    finally:
        if acquired:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()


def first_announcement(run_id: int) -> bool:
    """True exactly once per run: the caller announces run.queued."""
    r = client()
    if r is None:
        return True
    with external_call("redis", "realtime.first_announcement", run_id=run_id):
        return bool(r.set(_key(run_id, "announced"), 1, ex=7 * 86400, nx=True))


def schedule_trailing(run_id: int, delay: float, send: Callable[[int], None]) -> None:
    """Call `send(run_id)` after `delay` seconds in this process, once however often asked."""
    with _timers_lock:
        if run_id in _timers:
            return
        timer = threading.Timer(delay, _fire, args=(run_id, send))
        timer.daemon = True
        _timers[run_id] = timer
    timer.start()


def _fire(run_id: int, send: Callable[[int], None]) -> None:
    with _timers_lock:
        _timers.pop(run_id, None)
    close_old_connections()
    try:
        send(run_id)
    except Exception:
        logger.exception("trailing realtime progress failed", extra={"run_id": run_id})
    finally:
        connection.close()  # this thread's own connection; the thread ends here


def pending_trailing() -> int:
    """How many trailing sends this process still owes (tests, shutdown)."""
    with _timers_lock:
        return len(_timers)


def mark(run_id: int, what: str) -> None:
    r = client()
    if r is not None:
        with external_call("redis", "realtime.mark", run_id=run_id, what=what):
            r.set(_key(run_id, what), 1, ex=7 * 86400)


def wait_for_mark(run_id: int, what: str, *, timeout: float) -> bool:
    """Wait until another process has marked the run (e.g. announced run.committed)."""
    r = client()
    if r is None:
        return True
    deadline = time.monotonic() + timeout
    while True:
        if r.exists(_key(run_id, what)):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
