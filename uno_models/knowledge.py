"""What UNO learns from logs: rules with their support, preference pairs, and where both came from."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from uno_models.limits import (
    MAX_RULES,
    Count,
    Id,
    Namespace,
    Name,
    RuleText,
    Text,
    Timestamp,
)

MAX_PROVENANCE = 64
MAX_TRACKED_USERS = 1_024


class Provenance(msgspec.Struct, frozen=True, omit_defaults=True):
    """An offset range of a topic partition that contributed to a rule, pair or module."""

    topic: Name
    partition: Annotated[int, Meta(ge=0)]
    first_offset: Annotated[int, Meta(ge=0)]
    last_offset: Annotated[int, Meta(ge=0)]


Provenances = Annotated[list[Provenance], Meta(max_length=MAX_PROVENANCE)]


class RuleStatus(enum.Enum):
    CANDIDATE = "candidate"  # seen, not yet enough support to publish
    PUBLISHED = "published"  # passed the noise filter and is in a module
    CONTRADICTED = "contradicted"  # more contradictions than reinforcements
    REJECTED = "rejected"  # failed a hard check (e.g. reads as an instruction to the system)


class Rule(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A short, actionable guideline distilled from feedback, with its evidence.

    ``support`` counts logs, ``user_support`` counts logs per (pseudonymous) user so that the
    noise filter can require several distinct users and cap any one user's share.
    ``helpful`` / ``harmful`` count reinforcements and contradictions across refreshes.
    """

    id: Id
    text: RuleText
    support: Count = 0
    user_support: Annotated[dict[Id, int], Meta(max_length=MAX_TRACKED_USERS)] = {}
    helpful: Count = 0
    harmful: Count = 0
    novelty: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None
    first_seen: Timestamp = 0.0
    last_seen: Timestamp = 0.0
    status: RuleStatus = RuleStatus.CANDIDATE
    provenance: Provenances = []

    @property
    def distinct_users(self) -> int:
        return len(self.user_support)

    @property
    def top_user_share(self) -> float:
        """Share of the support that the single most active user supplied."""
        if not self.user_support:
            return 0.0
        return max(self.user_support.values()) / max(1, sum(self.user_support.values()))


Rules = Annotated[list[Rule], Meta(max_length=MAX_RULES)]


class PairSource(enum.Enum):
    CORRECTION = "correction"  # the user's correction is `chosen`
    EDIT = "edit"  # the user's edit is `chosen`
    REVISION = "revision"  # an LLM revision that won a pairwise judgement


class PreferencePair(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A (chosen, rejected) answer pair for one prompt, ready for DPO-style training."""

    id: Id
    namespace: Namespace
    cluster_id: Count
    prompt: Text
    chosen: Text
    rejected: Text
    source: PairSource
    score: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0
    event_id: Id
    created_at: Timestamp
    provenance: Provenances = []
