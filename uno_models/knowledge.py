"""What UNO learns from logs: rules with their support, preference pairs, and where both came from."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from uno_models.events import Feedback
from uno_models.limits import (
    MAX_FEEDBACK_ITEMS,
    MAX_RULE_TEXT,
    MAX_RULES,
    MAX_VECTOR,
    Count,
    Id,
    Name,
    Namespace,
    RuleText,
    Text,
    Timestamp,
    Unit,
)

MAX_PROVENANCE = 64
MAX_TRACKED_USERS = 1_024
MAX_THEMES = 64
MAX_EXEMPLARS = 32
MAX_EXEMPLAR_USERS = 8
MAX_USER_POSITIONS = 16


class Provenance(msgspec.Struct, frozen=True, omit_defaults=True):
    """An offset range of a topic partition that contributed to a rule, pair or module."""

    topic: Name
    partition: Annotated[int, Meta(ge=0)]
    first_offset: Annotated[int, Meta(ge=0)]
    last_offset: Annotated[int, Meta(ge=0)]


Provenances = Annotated[list[Provenance], Meta(max_length=MAX_PROVENANCE)]


class RuleStatus(enum.Enum):
    """Where a rule stands with the noise filter."""

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
    # What the theme behind the rule says about its evidence (processors.themes):
    against_share: Unit = 0.0  # reliability-weighted share of users asking for the opposite
    opposing_users: Count = 0  # distinct users asking for the opposite
    reliable_users: Annotated[float, Meta(ge=0.0)] = 0.0  # summed reliability of its supporters
    independent_users: Count = 0  # supporters with feedback in the cluster beyond this rule
    # of those, the ones established by a request others share (plain signals alone, which cost nothing, count
    # in ``independent_users`` but not here: a rule with none needs ``fresh_quorum`` supporters)
    established_users: Count = 0
    # with none established: the odds that the cluster's regulars (established users) would all be silent on
    # it if they asked for it as often as its newcomers do (1.0 when a regular supports it)
    regulars_silent_odds: Unit = 1.0
    # share of its statements made beside a signal that approved the answer (a thumbs up, a copy): praise
    approved_share: Unit = 0.0
    directive: bool = True  # most of its statements are requests about the answer
    promotion: bool = False  # its evidence pushes a link, a contact, a brand or a product
    injection: bool = False  # some of its evidence embeds next to a prompt injection (processors.noise)
    evidence: Annotated[list[RuleText], Meta(max_length=3)] = []  # what users wrote, most repeated first
    users: Count = 0  # distinct users behind it, in a published module (which carries no user ids)

    @property
    def distinct_users(self) -> int:
        return len(self.user_support) or self.users

    def public(self) -> Rule:
        """The rule as a module publishes it: counts, never (pseudonymous) user ids or event ids."""
        return msgspec.structs.replace(self, user_support={}, users=self.distinct_users)

    @property
    def top_user_share(self) -> float:
        """Share of the support that the single most active user supplied."""
        if not self.user_support:
            return 0.0
        return max(self.user_support.values()) / max(1, sum(self.user_support.values()))


Rules = Annotated[list[Rule], Meta(max_length=MAX_RULES)]


class Exemplar(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One distinct statement of a theme, as a user wrote it, and how often it was written."""

    text: RuleText
    sign: Annotated[int, Meta(ge=-1, le=1)] = 1  # -1: asks for the opposite of the theme's core
    count: Count = 1
    promotion: bool = False
    injection: bool = False
    users: Annotated[list[Id], Meta(max_length=MAX_EXEMPLAR_USERS)] = []  # the first (pseudonymous) users who wrote it


class Theme(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Users' statements that mean the same, for and against: the evidence behind one rule.

    ``vector`` is the sum of the statements' core embeddings (float32 bytes, the cluster's embedder);
    ``canonical`` the statement chosen as the rule's text; ``rephrased`` an LLM's faithful wording of
    it (kept while ``rephrased_from`` equals ``canonical``); ``rephrase_tried`` makes that one call
    per rule.
    """

    id: Id
    vector: Annotated[bytes, Meta(max_length=4 * MAX_VECTOR)] = b""
    weight: Annotated[float, Meta(ge=0.0)] = 0.0
    users_for: Annotated[dict[Id, int], Meta(max_length=MAX_TRACKED_USERS)] = {}
    users_against: Annotated[dict[Id, int], Meta(max_length=MAX_TRACKED_USERS)] = {}
    logs_for: Count = 0
    logs_against: Count = 0
    directive: Count = 0
    promotion: Count = 0
    injection: Count = 0
    approved: Count = 0  # statements made beside signals that approved the answer (a thumbs up, a copy)
    exemplars: Annotated[list[Exemplar], Meta(max_length=MAX_EXEMPLARS)] = []
    # (log, user, sign) counted; the log as 8 bytes of its event id's digest (`processors.themes.vote_key`), or,
    # in records written before, the event id itself
    votes: Annotated[list[tuple[Id | int, Id, int]], Meta(max_length=256)] = []
    provenance: Provenances = []
    first_seen: Timestamp = 0.0
    last_seen: Timestamp = 0.0
    canonical: Annotated[str, Meta(max_length=MAX_RULE_TEXT)] = ""
    rephrased: Annotated[str, Meta(max_length=MAX_RULE_TEXT)] = ""
    rephrased_from: Annotated[str, Meta(max_length=MAX_RULE_TEXT)] = ""
    rephrase_tried: Annotated[str, Meta(max_length=MAX_RULE_TEXT)] = ""


class UserRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a cluster knows of one (pseudonymous) user: feedback logs, chatter, when they appeared."""

    logs: Count = 0
    signals: Count = 0  # logs with feedback but no request: thumbs, copy, rating, or only thanks and praise
    chatter: Count = 0  # statements that were not requests about the answer
    first_log: Count = 0  # how many logs the cluster had seen when the user first gave feedback
    # the cluster's log counts at the user's first logs (bursts of fresh ids: `processors.themes._independent`)
    at: Annotated[list[Count], Meta(max_length=MAX_USER_POSITIONS)] = []
    # of those, the plain signals' (a ring's block of logs: `processors.themes._Independence._ganged`)
    signal_at: Annotated[list[Count], Meta(max_length=MAX_USER_POSITIONS)] = []


class PairSource(enum.Enum):
    """Where a preference pair's chosen answer came from."""

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


MAX_LOG_TEXT = 8_000
LogText = Annotated[str, Meta(max_length=MAX_LOG_TEXT)]


class LogRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A log as a cluster keeps it (pending refresh, or in its reservoir): redacted and truncated."""

    event_id: Id
    namespace: Namespace
    timestamp: Timestamp
    user_id: Id | None = None
    query: LogText
    response: LogText = ""
    feedback: Annotated[list[Feedback], Meta(max_length=MAX_FEEDBACK_ITEMS)] = []
    satisfaction: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None
    provenance: Provenance | None = None
    # Already refreshed once: ``feedback`` holds only what arrived since, and the log is not counted again;
    # ``earlier_satisfaction`` is the satisfaction of the feedback refreshed before (``satisfaction``: all of it).
    late: bool = False
    earlier_satisfaction: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None


class ClusterKnowledge(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a cluster has learned so far: its rules, gap accumulator, prior rules and module version.

    ``gap_sum / gap_logs`` is the running mean of per-log novelty (the cluster's gap score).
    ``priors`` are the model's own rules for the cluster's typical request, cached for the query
    centroid they were computed at (``prior_centroid``) until the cluster moves.
    """

    namespace: Namespace
    cluster_id: Count
    rules: Rules = []
    next_rule: Count = 0
    gap_sum: float = 0.0
    gap_logs: Count = 0
    priors: Annotated[list[RuleText], Meta(max_length=16)] = []
    prior_centroid: Annotated[list[float], Meta(max_length=8_192)] = []
    module_version: Count = 0
    module_digest: str = ""  # kind + ranked rule texts of the last module this cluster published
    refreshes: Count = 0
    themes: Annotated[list[Theme], Meta(max_length=MAX_THEMES)] = []
    users: Annotated[dict[Id, UserRecord], Meta(max_length=MAX_TRACKED_USERS)] = {}
    logs_seen: Count = 0
    # feedback logs already counted per user (as `Theme.votes` keeps them: digests, or ids in older records)
    recent_logs: Annotated[list[Id | int], Meta(max_length=1_024)] = []

    @property
    def gap_score(self) -> float | None:
        return self.gap_sum / self.gap_logs if self.gap_logs else None
