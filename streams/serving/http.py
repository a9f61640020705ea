"""HTTP plumbing shared by the serving routes: JSON responses, OpenAI-shaped errors, body decoding,
and the middleware (error mapping, size limit, bearer-token auth)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import msgspec
from aiohttp import web

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


def _middlewares(settings: Settings) -> list:
    token = settings.api_token

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
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return error_response(500, "internal error (logged by the worker)", "server_error")

    @web.middleware
    async def auth(request: web.Request, handler):
        changes_state = request.method not in ("GET", "HEAD", "OPTIONS") and request.path != "/v1/retrieve"
        if token and request.path not in OPEN_PATHS and (changes_state or settings.api_auth_reads):
            header = request.headers.get("Authorization", "")
            if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
                return error_response(401, "missing or wrong bearer token", "authentication_error")
        return await handler(request)

    return [errors, auth]


def web_options(settings: Settings) -> dict[str, Any]:
    """Options for Faust's aiohttp Application (`web_application_options`): size limit and middleware."""
    return {"client_max_size": settings.api_max_body_bytes, "middlewares": _middlewares(settings)}
