"""What the serving tier applies: experience modules, one per cluster, versioned."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from uno_models.knowledge import Provenances, Rules
from uno_models.limits import (
    MAX_VECTOR,
    Count,
    Name,
    Namespace,
    RuleText,
    Text,
    Timestamp,
)

MAX_CHECKLIST = 32


class ModuleKind(enum.Enum):
    """Which kind of module a cluster gets (decided by its gap score)."""

    PRIMARY = "primary"  # low gap: rules the model adopts directly (guidance, or an adapter)
    REFLECTIVE = "reflective"  # high gap: a checklist for draft -> critique -> revise


class SupportStats(msgspec.Struct, kw_only=True, omit_defaults=True):
    """How much evidence stands behind a module: logs, feedback logs, distinct users, satisfaction."""

    logs: Count = 0  # logs assigned to the cluster
    feedback_logs: Count = 0  # logs that carried usable feedback
    users: Count = 0  # distinct users among them
    satisfaction: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None


class ExperienceModule(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The published unit: what a query routed to ``(namespace, cluster_id)`` gets.

    ``guidance`` is the rendered text for a primary module; ``checklist`` the critique items of a
    reflective one. ``embedder_id`` names the vector space of the centroid it is stored under:
    a module is never compared against vectors of another embedder.
    """

    namespace: Namespace
    cluster_id: Count
    version: Annotated[int, Meta(ge=1)]
    kind: ModuleKind
    rules: Rules = []
    guidance: Text = ""
    checklist: Annotated[list[RuleText], Meta(max_length=MAX_CHECKLIST)] = []
    gap_score: Annotated[float, Meta(ge=0.0, le=1.0)]
    support: SupportStats = msgspec.field(default_factory=SupportStats)
    adapter: Name | None = None
    route_threshold: Annotated[float, Meta(ge=-1.0, le=1.0)] | None = None  # cosine a query needs; None: global
    embedder_id: Name
    created_at: Timestamp
    provenance: Provenances = []

    @property
    def key(self) -> str:
        return module_key(self.namespace, self.cluster_id)


class ModulePublished(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The record on the compacted ``uno.modules`` topic: the durable source of truth.

    ``centroid`` is kept with the module so the store can be rebuilt from the topic alone.
    ``oldest_event_at`` is the timestamp of the oldest log the refresh consumed (freshness);
    ``batch_id`` the refresh request whose logs this version is the first to reflect.
    """

    module: ExperienceModule
    centroid: Annotated[list[float], Meta(max_length=MAX_VECTOR)]
    published_at: Timestamp
    oldest_event_at: Timestamp | None = None
    batch_id: Annotated[str, Meta(max_length=64)] | None = None


def module_key(namespace: str, cluster_id: int) -> str:
    """The Kafka key of a cluster's refreshes and modules: ``namespace/cluster``."""
    return f"{namespace}/{cluster_id}"
