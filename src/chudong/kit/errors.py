"""Domain errors carry their HTTP status and a message safe to show to the user."""

from __future__ import annotations


class ChudongError(Exception):
    """Base of every domain failure; ``status_code`` is what an HTTP client gets."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        """Return the JSON error body."""
        body = {"error": self.code, "detail": self.message}
        if self.field:
            body["field"] = self.field
        return body


class NotFound(ChudongError):
    """The thing does not exist, or the caller may not know that it exists."""

    status_code = 404
    code = "not_found"


class Forbidden(ChudongError):
    """The caller is known but not allowed to do this."""

    status_code = 403
    code = "forbidden"


class Unauthorized(ChudongError):
    """The caller did not prove who they are."""

    status_code = 401
    code = "unauthorized"


class Conflict(ChudongError):
    """The request clashes with the current state (illegal transition, stale edit, duplicate)."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(ChudongError):
    """The request body is over the documented limit."""

    status_code = 413
    code = "payload_too_large"


class Unprocessable(ChudongError):
    """The request is well-formed but its content is invalid."""

    status_code = 422
    code = "invalid"
