"""HTTP plumbing shared by the serving routes: JSON responses, OpenAI-shaped errors, body decoding,
and the middleware (error mapping, size limit, scoped bearer tokens, rate limits: `streams.serving.access`)."""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from aiohttp import web

from processors.store import StoreUnavailableError
from streams.serving.access import ROLES, RateLimiter, find_grant, parse_grants
from uno_models import ContractError, Settings, decode
from uno_models.api import ErrorBody, ErrorDetail

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as ``{"error": ...}`` with ``status`` (raised by handlers, mapped by the middleware)."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=msgspec.json.encode(obj), status=status, content_type="application/json", headers=headers)


def error_response(status: int, message: str, type_: str, param: str | None = None) -> web.Response:
    return json_response(ErrorBody(ErrorDetail(message, type_, param)), status)


async def read_body(request: web.Request, type_: type):
    raw = await request.read()  # over client_max_size: aiohttp raises 413
    try:
        return decode(raw, type_)
    except ContractError as exc:
        raise ApiError(400, f"{exc.path}: {exc.reason}", param=exc.path) from None


OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json"})


ROLE_OF_ROUTE = {("POST", "/v1/feedback"): "write", ("POST", "/v1/chat/completions"): "write"}


def route_role(method: str, path: str) -> str:
    """The role a route needs: admin for rollbacks, write for feedback and chat, read otherwise."""
    if method == "POST" and path.endswith("/rollback"):
        return "admin"
    return ROLE_OF_ROUTE.get((method, path), "read")


def require(request: web.Request, namespace: str | None, role: str = "read") -> None:
    """403 unless the request's token may ``role`` on ``namespace`` (no token configured: allowed)."""
    grant = request.get("grant")
    if grant is not None and not grant.allows(namespace, role):
        scope = f"namespace {namespace!r}" if namespace is not None else "every namespace (pass ?namespace=)"
        raise ApiError(403, f"{grant.name} ({grant.role}) may not {role} {scope}", "permission_error")


def _middlewares(settings: Settings) -> list:
    grants = parse_grants(settings.api_tokens, settings.api_token)
    limiter = RateLimiter(settings.api_rate_per_s)

    @web.middleware
    async def errors(request: web.Request, handler):
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.type, exc.param)
        except web.HTTPRequestEntityTooLarge:
            return error_response(
                413,
                f"request body over {settings.api_max_body_bytes} bytes (UNO_API_MAX_BODY_BYTES)",
                "request_too_large",
            )
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(exc.status, exc.reason or "error", "http_error")
        except StoreUnavailableError as exc:  # retry later: the worker goes on, and so does serving
            log.warning("%s %s: %s", request.method, request.path, exc)
            return error_response(503, "the module store is unavailable; retry later", "store_unavailable")
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return error_response(500, "internal error (logged by the worker)", "server_error")

    @web.middleware
    async def auth(request: web.Request, handler):
        if not grants or request.path in OPEN_PATHS:  # no token configured: loopback only, all open
            return await handler(request)
        role = route_role(request.method, request.path)
        grant = find_grant(grants, request.headers.get("Authorization", ""))
        if grant is None and (role != "read" or settings.api_auth_reads):
            return error_response(401, "missing or wrong bearer token", "authentication_error")
        if grant is not None and ROLES[grant.role] < ROLES[role]:
            return error_response(403, f"{grant.name} ({grant.role}) may not {role}", "permission_error")
        wait = limiter.take(grant.name if grant else f"ip:{request.remote}", grant.rate_per_s if grant else None)
        if wait:
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
            body = error_response(429, "rate limit exceeded (UNO_API_RATE_PER_S)", "rate_limit_error")
            body.headers.update(headers)
            return body
        request["grant"] = grant
        return await handler(request)

    return [errors, auth]


def web_options(settings: Settings) -> dict[str, Any]:
    """Options for Faust's aiohttp Application (`web_application_options`): size limit and middleware."""
    return {"client_max_size": settings.api_max_body_bytes, "middlewares": _middlewares(settings)}
