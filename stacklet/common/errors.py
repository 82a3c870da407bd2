"""Errors a handler raises; each service turns them into its own error body."""

from __future__ import annotations


class APIError(Exception):
    """A client-visible error: an HTTP status and a message saying what was wrong."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.headers = headers or {}


class BadRequest(APIError):
    status, title = 400, "Bad Request"


class Unauthorized(APIError):
    status, title = 401, "Unauthorized"


class Forbidden(APIError):
    status, title = 403, "Forbidden"


class NotFound(APIError):
    status, title = 404, "Not Found"


class MethodNotAllowed(APIError):
    status, title = 405, "Method Not Allowed"


class NotAcceptable(APIError):
    status, title = 406, "Not Acceptable"


class Conflict(APIError):
    status, title = 409, "Conflict"


class RequestEntityTooLarge(APIError):
    status, title = 413, "Request Entity Too Large"


class UnsupportedMediaType(APIError):
    status, title = 415, "Unsupported Media Type"


class RangeNotSatisfiable(APIError):
    status, title = 416, "Requested Range Not Satisfiable"


class NotImplementedYet(APIError):
    """The request is valid but Stacklet does not implement it."""

    status, title = 501, "Not Implemented"


class Gone(APIError):
    status, title = 410, "Gone"
