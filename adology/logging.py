"""Logging for the whole project, configured once through Django's LOGGING setting.

- `text` format for people at a terminal, `json` (one object a line) for production.
- Every line carries the request id of the request (or task) it belongs to.
- `external_call` is the one wrapper for calls that leave the process: it logs the
  target, the operation, how long it took and how it ended.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from contextlib import contextmanager

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}

external_logger = logging.getLogger("adology.external")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            **_extras(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


def logging_config(*, fmt: str, level: str) -> dict:
    formatter = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {
            "()": TextFormatter,
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "botocore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            "pgserver": {"level": "WARNING"},
            # httpx logs full request URLs at INFO, and source URLs carry access tokens.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    }


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID when it sends a sane one)."""

    header = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(self.header, "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else ""
        request.request_id = request_id or uuid.uuid4().hex
        # Not reset on the way out: Django logs the response ("Bad Request: ...") after the
        # middleware chain returns, and that line belongs to this request too. The next
        # request in this thread or task sets its own id.
        request_id_var.set(request.request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


@contextmanager
def external_call(target: str, operation: str, **fields):
    """Log one call that leaves the process: target, operation, duration, outcome.

    Usage: `with external_call("s3", "put_object", key=key): client.put_object(...)`.
    The exception, if any, is logged with its type and re-raised unchanged.
    """
    started = time.perf_counter()

    def record(outcome: str, **extra) -> dict:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        return {
            "target": target,
            "operation": operation,
            "duration_ms": duration_ms,
            "outcome": outcome,
            **extra,
            **fields,
        }

    try:
        yield
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        external_logger.warning("external call failed", extra=record("error", error=error))
        raise
    external_logger.info("external call", extra=record("ok"))
