"""Typed domain errors. One handler (adology.api.errors) maps them to API errors."""


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, detail=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail if detail is not None else ({field: [message]} if field else {})


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    """A duplicate of something that exists; a validation error to the client."""

    code = "duplicate"
    status = 400
