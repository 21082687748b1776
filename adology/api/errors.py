"""Every API error has one shape: {"error": {"code", "message", "detail"}}."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from brands.exceptions import DomainError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, detail=None) -> dict:
    return {"error": {"code": code, "message": message, "detail": detail or {}}}


def _first_message(detail) -> str:
    """A readable sentence from DRF's nested detail, naming the field."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.detail), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django logs it and answers 500

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = error_body("invalid", _first_message(detail), detail)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        body = error_body(code, str(exc.detail), {})
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["error"]["detail"] = {"retry_after_seconds": int(exc.wait)}
    response.data = body
    return response


def not_found_view(request, exception=None):
    from django.http import JsonResponse

    return JsonResponse(
        error_body("not_found", "Nothing is at this address."), status=status.HTTP_404_NOT_FOUND
    )
