"""The serving API's request and response bodies: what a client of a worker's HTTP API exchanges.

The worker (`streams.serving`) answers with these Structs and derives its OpenAPI document from
them; the thin client (`streams.client`) decodes with the same ones, so the two cannot drift.

>>> import msgspec
>>> msgspec.json.decode(b'{"query": "Is a verbal contract binding?", "namespace": "legal"}', type=RetrieveRequest).k
1
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from uno_models.limits import Namespace
from uno_models.modules import ExperienceModule

#: The header that names the namespace of a proxied chat completion (or its ``namespace`` field).
NAMESPACE_HEADER = "X-UNO-Namespace"


class RetrieveRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/retrieve``: the module for ``query`` in ``namespace`` (up to ``k`` candidates)."""

    query: Annotated[str, Meta(min_length=1, max_length=32_000)]
    namespace: Namespace = "default"
    k: Annotated[int, Meta(ge=1, le=20)] = 1


class Candidate(msgspec.Struct):
    """A module within range of the query, with its cosine similarity."""

    module: ExperienceModule
    similarity: float


class RetrieveResponse(msgspec.Struct):
    """The best module, or null with the reason (``out_of_range``: too far from every module)."""

    module: ExperienceModule | None  # null when the query is out of range of every module
    similarity: float | None
    reason: Literal["hit", "out_of_range", "no_modules", "unavailable"]
    candidates: list[Candidate]  # up to k modules within range, best first


class FeedbackAccepted(msgspec.Struct):
    """``POST /v1/feedback`` answered 202: the feedback is on ``topic``."""

    event_id: str
    feedback_id: str
    topic: str


class ModuleList(msgspec.Struct):
    """``GET /v1/modules``: the current module of every cluster (of a namespace)."""

    modules: list[ExperienceModule]


class ModuleDetail(msgspec.Struct):
    """``GET /v1/modules/{namespace}/{cluster}``: the current version and every earlier one."""

    module: ExperienceModule | None  # null when every version was rolled away
    history: list[ExperienceModule]


class RollbackRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST .../rollback``: publish the content of ``version`` again, as the newest version."""

    version: Annotated[int, Meta(ge=1)]


class ErrorDetail(msgspec.Struct):
    """OpenAI's error shape, so the official client raises typed exceptions."""

    message: str
    type: str
    param: str | None = None


class ErrorBody(msgspec.Struct):
    """Every error response: ``{"error": {"message", "type", "param"}}``."""

    error: ErrorDetail
