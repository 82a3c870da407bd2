"""How a service declares its HTTP API.

A handler is a plain function ``handler(req: ApiRequest) -> result`` that
reads top to bottom: context, policy, input, service call, output.  The
framework around it reads and parses the body, authenticates lazily (only
when the handler asks for ``req.ctx``), runs it in a worker thread (the
service layer uses blocking database sessions), and turns the result or an
``APIError`` into a response in the service's own format.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
from typing import Any, Callable, Protocol

from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stacklet.common import access_rules, errors
from stacklet.common.context import RequestContext
from stacklet.common.microversions import MicroversionSpec, Version

LOG = logging.getLogger(__name__)

# Bodies larger than this are refused before being parsed.
MAX_JSON_BODY = 1 << 20


class Authenticator(Protocol):
    def authenticate(self, token: str) -> RequestContext:
        """Validate a token and return who it speaks for; raise Unauthorized if invalid."""


class ApiRequest:
    """What a handler sees of one HTTP request."""

    def __init__(self, request: Request, service: "ServiceAPI", body: Any,
                 version: Version | None):
        self.http = request
        self.service = service
        self.cloud = service.cloud
        self.body = body
        self.version = version
        self.query: QueryParams = request.query_params
        self.path: dict[str, str] = request.path_params
        self.headers = request.headers
        self._ctx: RequestContext | None = None
        self._decisions: dict[tuple, bool] = {}

    @property
    def ctx(self) -> RequestContext:
        """The authenticated caller; 401 when there is no valid token, or when the
        token's application credential access rules do not allow this request."""
        if self._ctx is None:
            token = self.headers.get("x-auth-token")
            if not token:
                raise errors.Unauthorized("The request you have made requires authentication.")
            ctx = self.service.authenticator.authenticate(token)
            if ctx.access_rules and not access_rules.permits(
                    ctx.access_rules, self.service.service_type, self.http.method,
                    self.service_path):
                raise errors.Unauthorized("The application credential access rules of this "
                                          "token do not allow this request.")
            self._ctx = ctx
        return self._ctx

    @property
    def service_path(self) -> str:
        """The request path relative to the service root (e.g. /v3/users for identity)."""
        # Under the service's Mount, root_path is everything up to the service root.
        return self.http.scope["path"].removeprefix(self.http.scope.get("root_path", ""))

    def authorize(self, rule: str, target: dict | None = None) -> RequestContext:
        """The caller, after checking the policy rule allows them; 401 or 403 otherwise."""
        ctx = self.ctx
        self.cloud.policy.enforce(ctx, rule, target)
        return ctx

    def allowed(self, rule: str, target: dict | None = None) -> bool:
        """Whether the policy rule allows the caller.  Remembered for the request:
        the views of a list ask the same question for every item."""
        key = (rule, tuple(sorted((target or {}).items())))
        try:
            hash(key)
        except TypeError:
            # Targets of some services carry lists (a port's fixed IPs).
            key = (rule, repr(key[1]))
        if key not in self._decisions:
            self._decisions[key] = self.cloud.policy.allowed(self.ctx, rule, target)
        return self._decisions[key]

    @functools.cached_property
    def base_url(self) -> str:
        """URL of the service root (e.g. http://host:port/identity), no trailing slash."""
        return str(self.http.base_url).rstrip("/") + self.service.prefix

    def url(self, path: str) -> str:
        """Absolute URL of a path under the service root."""
        return self.base_url + path

    def json_body(self, key: str | None = None) -> Any:
        """The parsed body (or its top-level ``key``); 400 when absent."""
        if self.body is None:
            raise errors.BadRequest("The request body is missing; a JSON body is required.")
        if key is None:
            return self.body
        if not isinstance(self.body, dict) or key not in self.body:
            raise errors.BadRequest(f"Invalid input: '{key}' is a required property.")
        return self.body[key]


Handler = Callable[[ApiRequest], Any]
ErrorFormatter = Callable[[errors.APIError], dict]


@dataclasses.dataclass(frozen=True)
class DeclaredRoute:
    """One route as a handler module declared it (path relative to the service root)."""

    path: str
    methods: tuple[str, ...]
    handler: Handler
    stream_body: bool


class RouteTable:
    """The routes one handler module declares; a ServiceAPI includes the tables."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, list[str], int, bool, Handler]] = []

    def route(self, path: str, methods: list[str] | str, *, status: int = 200,
              stream_body: bool = False) -> Callable:
        """Declare a handler.  With ``stream_body`` the body is not read as JSON: the
        handler (then an ``async def``) reads it from ``req.http.stream()`` itself."""
        def register(handler: Handler) -> Handler:
            self.routes.append((path, [methods] if isinstance(methods, str) else methods,
                                status, stream_body, handler))
            return handler
        return register


class ServiceAPI:
    """The routes of one service, mounted under its path prefix; ``service_type`` is
    its catalog type (what application credential access rules name)."""

    def __init__(self, name: str, prefix: str, cloud: Any, *, service_type: str,
                 error_body: ErrorFormatter, authenticator: Authenticator,
                 microversions: MicroversionSpec | None = None,
                 error_headers: Callable[[errors.APIError, Request], dict] | None = None,
                 error_media: Callable[[dict, errors.APIError, Request], Response] | None = None,
                 redirect_slashes: bool = True,
                 after_change: Callable[[], None] | None = None):
        self.name = name
        self.service_type = service_type
        self.prefix = prefix
        self.cloud = cloud
        self.error_body = error_body
        self.error_headers = error_headers
        # How the error body is written, for a service whose errors follow the
        # client's Accept header (Glance); JSON by default.
        self.error_media = error_media
        self.authenticator = authenticator
        self.microversions = microversions
        # Starlette answers a path with a stray trailing slash by redirecting to
        # the path without it; a service whose upstream answers 404 turns that off.
        self.redirect_slashes = redirect_slashes
        # Called after each request that changed something (a write answered
        # with success): the network service wakes its agents with it.
        self.after_change = after_change
        self._routes: list[Route] = []
        # What the handler modules declared, for the tests that walk every
        # route of every service (fuzzing, cross-project isolation).
        self.declared: list[DeclaredRoute] = []

    def include(self, table: RouteTable) -> None:
        for path, methods, status, stream_body, handler in table.routes:
            self.declared.append(DeclaredRoute(path, tuple(methods), handler, stream_body))
            self._routes.append(Route(path, self._endpoint(handler, status, stream_body),
                                      methods=methods, name=handler.__name__))

    def _endpoint(self, handler: Handler, status: int, stream_body: bool):
        # Handlers that stream a body are coroutines running on the event loop
        # (they hand blocking work to threads themselves); the rest run in a
        # worker thread because the service layer uses blocking sessions.
        is_coroutine = inspect.iscoroutinefunction(handler)

        async def endpoint(request: Request) -> Response:
            version = None
            try:
                if self.microversions:
                    version = self.microversions.negotiate(request.headers)
                body = None if stream_body else await _read_json(request)
                req = ApiRequest(request, self, body, version)
                if is_coroutine:
                    result = await handler(req)
                else:
                    result = await run_in_threadpool(handler, req)
                response = _to_response(result, status)
                if self.after_change and request.method not in ("GET", "HEAD"):
                    self.after_change()
            except errors.APIError as exc:
                response = self.error_response(exc, request)
            except IntegrityError:
                # Uniqueness is checked before writing; only a concurrent request
                # creating the same thing gets past that check to the constraint.
                response = self.error_response(errors.Conflict(
                    "The request conflicts with a concurrent change (a duplicate or a "
                    "reference that no longer exists); retry it."), request)
            except Exception:
                # Answered here rather than by Starlette's last-resort handler,
                # which re-raises and so makes the server drop the connection:
                # the client's next request on it would fail with a reset.
                LOG.exception("unexpected error in %s %s", request.method, request.url.path)
                response = self.error_response(_unexpected(), request)
            if version is not None:
                self.microversions.annotate(response, version)
            return response
        return endpoint

    def error_response(self, exc: errors.APIError, request: Request) -> Response:
        headers = dict(exc.headers)
        if self.error_headers:
            headers.update(self.error_headers(exc, request))
        if exc.status >= 500:
            LOG.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        if self.error_media:
            response = self.error_media(self.error_body(exc), exc, request)
            response.headers.update(headers)
            return response
        return JSONResponse(self.error_body(exc), status_code=exc.status, headers=headers)

    def asgi_app(self) -> Starlette:
        async def http_error(request: Request, exc: HTTPException) -> Response:
            # Starlette's own 404/405 for unknown paths and methods, in our format.
            cls = {404: errors.NotFound, 405: errors.MethodNotAllowed}.get(
                exc.status_code, errors.BadRequest)
            message = {404: "The resource could not be found.",
                       405: f"The method {request.method} is not allowed on this resource."}
            return self.error_response(cls(message.get(exc.status_code, exc.detail)), request)

        async def unexpected_error(request: Request, exc: Exception) -> Response:
            # Only what fails outside a handler gets here.  Starlette re-raises
            # after this answer and the server closes the connection: say so.
            LOG.exception("unexpected error in %s %s", request.method, request.url.path)
            response = self.error_response(_unexpected(), request)
            response.headers["Connection"] = "close"
            return response

        # Starlette lets a GET route answer HEAD too; a handler declared for
        # HEAD alone must be matched before the GET one on the same path.
        routes = sorted(self._routes, key=lambda route: route.methods != {"HEAD"})
        app = Starlette(routes=routes,
                        exception_handlers={HTTPException: http_error,
                                            Exception: unexpected_error})
        app.router.redirect_slashes = self.redirect_slashes
        return app


async def _read_json(request: Request) -> Any:
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    raw = await _read_body(request, MAX_JSON_BODY)
    if not raw:
        return None
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError:  # deeper than the parser itself goes
        raise _too_deep()
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadRequest(f"Malformed request body: it is not valid JSON ({exc}).")
    if _may_be_misshapen(raw):
        _check_json_shape(body)
    return body


def _not_json(constant: str) -> None:
    # Python's parser takes NaN and Infinity, which JSON has not; a number no
    # column, int() or comparison can hold must not reach a handler.
    raise ValueError(f"{constant} is not a JSON value")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk and refused (413) as soon as it passes
    ``limit``: a chunked upload of gigabytes costs the process one chunk."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.RequestEntityTooLarge(
            f"The request body is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.RequestEntityTooLarge(
                f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


# No OpenStack request body comes near this depth; past it, schema validation
# and the database's JSON encoder would recurse as deep.
MAX_JSON_DEPTH = 64


def _may_be_misshapen(raw: bytes) -> bool:
    """Whether a body needs _check_json_shape's walk, which every request would
    otherwise pay: a lone surrogate comes as a \\u escape or as UTF-8 bytes led by
    0xED (which json.loads lets through), and deep nesting needs its brackets."""
    return (b"\\ud" in raw or b"\\uD" in raw or b"\xed" in raw
            or raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH)


def _check_json_shape(body: Any) -> None:
    """400 for a body nested deeper than MAX_JSON_DEPTH, or holding a string
    with a lone surrogate (valid JSON, ``"\\ud800"``, but no UTF-8 can store it)."""
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for key in value:
                _check_text(key)
            value = value.values()
        pending.extend((item, depth + 1) for item in value)


def _too_deep() -> errors.BadRequest:
    return errors.BadRequest(
        f"Malformed request body: nested deeper than {MAX_JSON_DEPTH} levels.")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.BadRequest("Malformed request body: a string holds a lone UTF-16 "
                                "surrogate (such as \\ud800), which is not a character.")


def _unexpected() -> errors.APIError:
    return errors.APIError("An unexpected error prevented the server from fulfilling your "
                           "request.")


def _to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204 if status == 200 else status)
    return JSONResponse(result, status_code=status)
