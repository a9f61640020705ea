"""Records the streaming app writes: dead letters, refresh requests, and its table values.

Dead letters and refresh requests travel on topics (``uno.dlq``, ``uno.cluster-refresh``); the
others are values of changelog-backed tables. All are msgspec Structs like the public contract,
so their size limits are checked and their wire format is documented in one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from uno_models.clusters import ClusterSnapshot
from uno_models.events import FeedbackEvent
from uno_models.knowledge import ClusterKnowledge, LogRecord
from uno_models.limits import Count, Id, Name, Namespace, Timestamp

MAX_BATCH = 64
MAX_RESERVOIR = 16
# Records this side produces stay well under a broker's default 1 MB limit (a letter's bytes are
# base64 in JSON: 4/3 of this); a refresh request's logs are cut into several requests by size.
MAX_LETTER_ORIGINAL = 256 * 1024
MAX_REQUEST_BYTES = 512 * 1024


class DeadLetter(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A record that could not be processed: the original bytes, why, and where it came from.

    ``uno dlq replay`` sends ``original`` back to ``topic`` after a fix. A record too big for a letter
    (past ``MAX_LETTER_ORIGINAL``) keeps its head only, with its full size and digest: it is reported,
    never replayed, and never blocks the partition behind a letter the broker refuses.
    """

    topic: Name
    partition: Annotated[int, Meta(ge=0)]
    offset: Annotated[int, Meta(ge=0)]
    key: bytes | None = None
    original: bytes
    reason: Name  # malformed, invalid, too_large, ...
    path: Name = "$"  # JSONPath of the offending field
    error: Annotated[str, Meta(max_length=4_096)]
    failed_at: Timestamp
    original_size: Annotated[int, Meta(ge=0)] | None = None  # set when ``original`` is only the head
    original_sha256: str | None = None

    @property
    def truncated(self) -> bool:
        return self.original_size is not None


class RefreshRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Sent by ingest when a cluster is due; carries everything the refresh needs.

    ``batch_id`` is derived from the logs it carries, so a replayed request is recognised and skipped.
    The lifecycle travels the same way, keyed by the cluster it concerns: ``merged`` (this cluster
    was absorbed ``into`` another: hand its knowledge over and withdraw its module), ``fold`` (take
    the ``carried`` knowledge of an absorbed cluster) and ``retired`` (withdraw the module).
    """

    namespace: Namespace
    cluster_id: Count
    batch_id: Id
    reason: Literal["count", "age", "drift", "merged", "fold", "retired"]
    snapshot: ClusterSnapshot | None = None  # the cluster's (for merged: the survivor's)
    into: Count | None = None
    carried: ClusterKnowledge | None = None
    logs: Annotated[list[LogRecord], Meta(max_length=MAX_BATCH)]
    reservoir: Annotated[list[LogRecord], Meta(max_length=MAX_RESERVOIR)] = []
    requested_at: Timestamp


class Tick(msgspec.Struct):
    """A heartbeat for one namespace, so time-based work (age trigger, TTLs) runs inside the stream."""

    namespace: Namespace
    at: Timestamp


# ---------------------------------------------------------------- table values


class NamespaceMeta(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The clusterer of a namespace, less its clusters (those live one per key, see ClusterSnapshot)."""

    embedder_id: Name
    next_id: Count = 0
    seen: float = 0.0
    aliases: dict[int, int] = {}
    active: list[int] = []
    events: Count = 0  # events applied: lets a worker notice its in-memory copy is stale
    partition: int = -1  # the input partition this namespace lives on (where its ticks are sent)
    expiry_ledger: bool = False  # every expiring key is on the expiry ledgers (processors.expiry)


class StoredLog(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A log kept by ingest: pending refresh, in a reservoir, or waiting for late feedback."""

    log: LogRecord
    cluster_id: int = -1  # -1 until it carries a usable signal and has been clustered
    stored_at: Timestamp
    refreshed: Count = 0  # feedback items already sent in a refresh request (late ones go alone)


class ClusterWork(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What ingest tracks per cluster between refreshes."""

    pending: list[Id] = []  # event ids of feedback-bearing logs not yet refreshed
    oldest_pending: Timestamp | None = None
    reservoir: Annotated[list[Id], Meta(max_length=MAX_RESERVOIR)] = []  # a uniform sample of past logs
    reservoir_seen: Count = 0
    refreshes_sent: Count = 0


class OrphanFeedback(msgspec.Struct, kw_only=True):
    """Late feedback whose interaction has not been seen (yet); expires after the TTL, counted."""

    feedback: list[FeedbackEvent]
    first_seen: Timestamp


class ExpiryHead(msgspec.Struct):
    """The first and last chunk of a namespace's expiry ledger of one kind (processors.expiry)."""

    first: int = 0
    last: int = 0


class ExpiryChunk(msgspec.Struct):
    """Up to 64 keys of an expiry ledger, in the order they were written, each with when it is due."""

    due: list[float] = []
    keys: list[str] = []


class Journal(msgspec.Struct):
    """One record's writes to a namespace's state (``None`` deletes), written before they are applied;
    a big one lists the keys of its other ``parts`` (processors.state)."""

    writes: list[tuple[str, bytes | None]]
    parts: list[str] = []


class KnowledgeRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The refresh side's state of a cluster, with the batches already applied (replay guard)."""

    knowledge: ClusterKnowledge
    applied_batches: Annotated[list[Id], Meta(max_length=256)] = []
