"""The OpenAPI 3.1 document of the worker's API, its schemas generated from the contract's Structs."""

from __future__ import annotations

from typing import Any

import msgspec

from streams.serving.proxy import ChatRequest
from uno_models import FeedbackEvent
from uno_models.api import (
    NAMESPACE_HEADER,
    ErrorBody,
    FeedbackAccepted,
    ModuleDetail,
    ModuleList,
    RetrieveRequest,
    RetrieveResponse,
    RollbackRequest,
)


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document, its schemas generated from the Structs above."""
    types = [
        RetrieveRequest,
        RetrieveResponse,
        ChatRequest,
        FeedbackEvent,
        FeedbackAccepted,
        ModuleList,
        ModuleDetail,
        RollbackRequest,
        ErrorBody,
    ]
    (_, components) = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")

    def ref(t: type) -> dict:
        return {"$ref": f"#/components/schemas/{t.__name__}"}

    def body(t: type) -> dict:
        return {"required": True, "content": {"application/json": {"schema": ref(t)}}}

    def ok(t: type | None, status: str = "200", extra: tuple[str, ...] = ()) -> dict:
        out: dict[str, Any] = {
            status: {"description": "OK"} | ({"content": {"application/json": {"schema": ref(t)}}} if t else {})
        }
        for code in ("400", "401", *extra):
            out[code] = {"description": "error", "content": {"application/json": {"schema": ref(ErrorBody)}}}
        return out

    cluster_params = [
        {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "cluster", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    ]
    namespace_query = {"name": "namespace", "in": "query", "required": False, "schema": {"type": "string"}}
    chat_ok = ok(None, extra=("413", "502", "503"))
    chat_ok["200"]["content"] = {
        "application/json": {"schema": {"type": "object"}},
        "text/event-stream": {"schema": {"type": "string"}},
    }
    plain = {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    paths = {
        "/healthz": {"get": {"summary": "Liveness (503: an agent crashed in the last minute)", "responses": plain}},
        "/readyz": {"get": {"summary": "Readiness (503: recovering tables or rebalancing)", "responses": plain}},
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }
        },
        "/v1/clusters": {
            "get": {
                "summary": "Clusters of a namespace",
                "parameters": [namespace_query | {"required": True}],
                "responses": plain | {"400": ok(None)["400"]},
            }
        },
        "/v1/evidence": {
            "get": {
                "summary": "Admin: rules, the pseudonymous users and statements behind them, why any is held back",
                "parameters": [namespace_query | {"required": True}],
                "responses": plain | {"400": ok(None)["400"]},
            }
        },
        "/v1/modules": {
            "get": {"summary": "Current modules", "parameters": [namespace_query], "responses": ok(ModuleList)}
        },
        "/v1/modules/{namespace}/{cluster}": {
            "get": {
                "summary": "A module and its version history",
                "parameters": cluster_params,
                "responses": ok(ModuleDetail, extra=("404",)),
            }
        },
        "/v1/modules/{namespace}/{cluster}/rollback": {
            "post": {
                "summary": "Republish an earlier version as the newest",
                "parameters": cluster_params,
                "requestBody": body(RollbackRequest),
                "responses": plain | ok(None, extra=("404", "413")),
            }
        },
        "/v1/retrieve": {
            "post": {
                "summary": "The module for a query, or null with the reason",
                "requestBody": body(RetrieveRequest),
                "responses": ok(RetrieveResponse, extra=("413",)),
            }
        },
        "/v1/feedback": {
            "post": {
                "summary": "Feedback on an interaction (to the feedback topic)",
                "requestBody": body(FeedbackEvent),
                "responses": ok(FeedbackAccepted, "202", ("413",)),
            }
        },
        "/v1/chat/completions": {
            "post": {
                "summary": "OpenAI-compatible chat completion with the query's module applied",
                "parameters": [
                    {"name": NAMESPACE_HEADER, "in": "header", "required": False, "schema": {"type": "string"}}
                ],
                "requestBody": body(ChatRequest),
                "responses": chat_ok,
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "UNO streaming worker API", "version": "1"},
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }
