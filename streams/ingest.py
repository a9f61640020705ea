"""Ingest: raw interaction and feedback records -> clustered, redacted logs -> refresh requests.

One `Ingest` handles the three co-partitioned inputs (interactions, late feedback and ticks, all
keyed by namespace), so every piece of a namespace's state is written from its partition:

- an interaction is decoded (bad bytes go to the dead-letter topic with the reason), de-duplicated
  by event id, joined with feedback that arrived before it, redacted, and stored; when it carries
  a usable signal it is embedded, assigned to a cluster, appended to the cluster's pending batch and
  reservoir, and the cluster is refreshed once N feedback logs are pending or drift is detected;
- late feedback joins its stored interaction (clustering it now if it had no signal before), or
  waits as an orphan until the TTL, then is counted and dropped;
- a tick (one per namespace, every few seconds) fires the age trigger (oldest pending log older
  than T) and purges expired state.

Everything here is plain Python over mapping-like tables and an async ``send``; the Faust app
(`streams.app`) only feeds it records.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import NamedTuple

import msgspec
from river import drift

from processors.clustering import OnlineClusterer
from processors.embedders import Embedder
from processors.pii import redact, redact_feedback
from streams.metrics import Metrics
from streams.state import State, TypedTable, key
from uno_models import (
    ClusterSnapshot,
    ClustererState,
    ContractError,
    Feedback,
    FeedbackEvent,
    InteractionEvent,
    LogRecord,
    Provenance,
    Settings,
    decode_feedback,
    decode_interaction,
    encode,
    satisfaction,
    signal_of,
)
from uno_models.stream import (
    MAX_BATCH,
    ClusterWork,
    DeadLetter,
    NamespaceMeta,
    OrphanFeedback,
    RefreshRequest,
    StoredLog,
    Tick,
)

Send = Callable[[str, str, bytes], Awaitable[None]]  # (topic role, key, value)


class Source(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None


class Ingest:
    def __init__(self, settings: Settings, embedder: Embedder, table: MutableMapping, send: Send, metrics: Metrics,
                 clock: Callable[[], float] = time.time):  # fmt: skip
        """``table``: the ingest side's state (a Faust table in the worker); ``send`` must return once the
        broker has acknowledged the record (a refresh request is durable before the work it takes)."""
        self.settings = settings
        self.embedder = embedder
        self.send = send
        self.metrics = metrics
        self.clock = clock
        self.state = State(table)
        self.namespaces, self.logs = state_views(self.state)
        self.clusters = TypedTable(self.state, ClusterSnapshot, "cluster")
        self.work = TypedTable(self.state, ClusterWork, "work")
        self.seen = TypedTable(self.state, float, "seen")
        self.orphans = TypedTable(self.state, OrphanFeedback, "orphan")
        self._clusterers: dict[str, tuple[OnlineClusterer, int]] = {}
        self._drift: dict[tuple[str, int], drift.ADWIN] = {}
        self._rng = random.Random(0)
        self._partition = -1  # partition of the record being handled

    # ------------------------------------------------------------------ entry points

    async def on_interaction(self, raw: bytes, source: Source) -> None:
        event = await self._decode(raw, source, decode_interaction, "interaction")
        if event is not None:
            with self.state.txn(event.namespace):
                if self._first_time(key(event.namespace, "e", event.event_id), "interaction"):
                    await self._interaction(event, source)

    async def on_feedback(self, raw: bytes, source: Source) -> None:
        fe = await self._decode(raw, source, decode_feedback, "feedback")
        if fe is not None:
            # Without a feedback_id, the bytes are the identity: a redelivered record is recognised.
            with self.state.txn(fe.namespace):
                if self._first_time(key(fe.namespace, "f", fe.feedback_id or hashlib.sha1(raw).hexdigest()[:24]),
                                    "feedback"):  # fmt: skip
                    await self._feedback(fe)

    async def on_tick(self, raw: bytes) -> None:
        tick = msgspec.msgpack.decode(raw, type=Tick)
        self._partition = -1
        with self.state.txn(tick.namespace):
            await self._tick(tick.namespace)

    async def _interaction(self, event: InteractionEvent, source: Source) -> None:
        ns, now = event.namespace, self.clock()
        feedback = list(event.feedback)
        orphan = self.orphans.get(key(ns, event.event_id))
        if orphan is not None:  # feedback that arrived first
            feedback += [fe.to_feedback() for fe in orphan.feedback]
            self.orphans.delete(key(ns, event.event_id))
            self.metrics.events.labels("feedback", "joined").inc(len(orphan.feedback))
        log = self._log_record(event, feedback, source)
        stored = StoredLog(log=log, stored_at=now)
        if not log.feedback:
            self.logs.put(key(ns, event.event_id), stored)  # kept for late feedback, until the TTL
            self.metrics.events.labels("interaction", "no_signal").inc()
            return
        await self._cluster(stored, now)
        self.metrics.events.labels("interaction", "ok").inc()

    async def _feedback(self, fe: FeedbackEvent) -> None:
        ns, now = fe.namespace, self.clock()
        stored = self.logs.get(key(ns, fe.event_id))
        if stored is not None:
            log = stored.log
            fb = redact_feedback(fe.to_feedback(), self.settings.max_log_chars)
            stored = msgspec.structs.replace(stored, log=msgspec.structs.replace(
                log, feedback=[*log.feedback, fb][-64:], satisfaction=satisfaction([*log.feedback, fb])))  # fmt: skip
            if stored.cluster_id < 0:
                await self._cluster(stored, now)
            else:
                self.logs.put(key(ns, fe.event_id), stored)
                self._add_pending(ns, self._clusterer(ns).resolve(stored.cluster_id), fe.event_id, now)
                await self._maybe_refresh(ns, self._clusterer(ns).resolve(stored.cluster_id), now)
            self.metrics.events.labels("feedback", "joined").inc()
        elif self.seen.get(key(ns, "e", fe.event_id)) is not None:
            self.metrics.events.labels("feedback", "too_late").inc()  # its log is past the TTL: counted, dropped
        else:
            orphan = self.orphans.get(key(ns, fe.event_id)) or OrphanFeedback(feedback=[], first_seen=now)
            orphan.feedback.append(fe)
            self.orphans.put(key(ns, fe.event_id), orphan)
            self.metrics.events.labels("feedback", "orphaned").inc()

    async def _tick(self, ns: str) -> None:
        now = self.clock()
        meta = self.namespaces.get(ns)
        if meta is None:
            return
        clusterer = self._clusterer(ns)
        retired = clusterer.retire_idle(now)
        for cid in retired:
            self._drop_cluster(ns, cid)
        if retired:
            self._save(ns, clusterer, changed=())
        backlog = 0.0
        for cid in clusterer.active_ids:
            work = self.work.get(key(ns, cid))
            if work and work.pending:
                age = now - (work.oldest_pending or now)
                backlog = max(backlog, age)
                if age >= self.settings.refresh_max_age_s:
                    await self._request_refresh(ns, cid, "age", now)
        self.metrics.refresh_backlog.labels(ns).set(backlog)
        self._purge(ns, now)
        self.metrics.state_keys.set(len(self.state.table))

    def describe(self, ns: str) -> list[dict]:
        """The namespace's clusters as this worker holds them (for the operators' /v1/clusters view)."""
        meta = self.namespaces.get(ns)
        if meta is None:
            return []
        out = []
        for cid in meta.active:
            snap = self.clusters.get(key(ns, cid))
            work = self.work.get(key(ns, cid)) or ClusterWork()
            if snap is not None:
                out.append({"cluster_id": cid, "logs": snap.logs, "feedback_logs": snap.feedback_logs,
                            "pending": len(work.pending), "refreshes_requested": work.refreshes_sent,
                            "aliases": sorted(a for a, b in meta.aliases.items() if b == cid),
                            "last_seen": snap.last_seen})  # fmt: skip
        return out

    async def _decode(self, raw: bytes, source: Source, decoder, kind: str):
        """The decoded record, or None (dead-lettered and counted) if it is invalid or wrongly keyed."""
        try:
            event = decoder(raw)
        except ContractError as err:
            await self._dead_letter(raw, source, err, kind)
            return None
        if not await self._key_matches(raw, source, event.namespace, kind):
            return None
        self._partition = source.partition
        return event

    def _first_time(self, seen_key: str, kind: str) -> bool:
        """De-duplication by id: False (counted) for a record already processed."""
        if self.seen.get(seen_key) is not None:
            self.metrics.events.labels(kind, "duplicate").inc()
            return False
        self.seen.put(seen_key, self.clock())
        return True

    # ------------------------------------------------------------------ clustering

    async def _cluster(self, stored: StoredLog, now: float) -> None:
        log = stored.log
        ns = log.namespace
        clusterer = self._clusterer(ns)
        verbal = " ".join(fb.text for fb in log.feedback if fb.text and signal_of(fb).verbal)
        start = time.perf_counter()
        vectors = self.embedder.embed([log.query, verbal] if verbal else [log.query])
        self.metrics.embed_seconds.observe(time.perf_counter() - start)
        start = time.perf_counter()
        features = clusterer.features(vectors[0], vectors[1] if verbal else None)
        assignment = clusterer.learn_vector(features, vectors[0], timestamp=log.timestamp, feedback=True,
                                            satisfaction=log.satisfaction)  # fmt: skip
        self.metrics.assign_seconds.observe(time.perf_counter() - start)
        cid = assignment.cluster_id
        for absorbed in assignment.merged:
            self._fold_work(ns, absorbed, clusterer.resolve(absorbed))
        changed = clusterer.active_ids if assignment.rescaled else {cid, *(clusterer.resolve(m) for m in assignment.merged)}
        self._save(ns, clusterer, changed, removed=assignment.merged)
        self.logs.put(key(ns, log.event_id), msgspec.structs.replace(stored, cluster_id=cid))
        self._add_pending(ns, cid, log.event_id, now)
        self._sample_reservoir(ns, cid, log.event_id)
        self.metrics.clusters.labels(ns).set(len(clusterer.active_ids))
        drifted = False
        if log.satisfaction is not None:
            detector = self._drift.setdefault((ns, cid), drift.ADWIN())
            detector.update(log.satisfaction)
            drifted = detector.drift_detected
        await self._maybe_refresh(ns, cid, now, drifted)

    def _clusterer(self, ns: str) -> OnlineClusterer:
        """The namespace's clusterer, rebuilt from the tables when the in-memory copy is missing or stale
        (after a restart, or when another worker held the partition in between)."""
        meta = self.namespaces.get(ns) or NamespaceMeta(embedder_id=self.embedder.id)
        if meta.embedder_id != self.embedder.id:
            raise RuntimeError(f"namespace {ns!r} was clustered with {meta.embedder_id!r}, this worker embeds with "
                               f"{self.embedder.id!r}: rebuild the namespace, never mix vector spaces")  # fmt: skip
        cached = self._clusterers.get(ns)
        if cached is not None and cached[1] == meta.events:
            return cached[0]
        snapshots = [s for s in (self.clusters.get(key(ns, cid)) for cid in meta.active) if s is not None]
        state = ClustererState(namespace=ns, embedder_id=meta.embedder_id, next_id=meta.next_id, seen=meta.seen,
                               clusters=snapshots, aliases=meta.aliases)  # fmt: skip
        s = self.settings
        clusterer = OnlineClusterer.from_state(state, ward_scale=s.ward_scale, max_clusters=s.max_clusters,
                                               idle_ttl_s=s.cluster_idle_ttl_s or None)  # fmt: skip
        self._clusterers[ns] = (clusterer, meta.events)
        return clusterer

    def _save(self, ns: str, clusterer: OnlineClusterer, changed, removed=()) -> None:
        meta = self.namespaces.get(ns) or NamespaceMeta(embedder_id=self.embedder.id)
        events = meta.events + 1
        self.namespaces.put(ns, NamespaceMeta(embedder_id=self.embedder.id, next_id=clusterer.next_id,
                                              seen=clusterer.seen, aliases=clusterer.aliases,
                                              active=clusterer.active_ids, events=events,
                                              partition=self._partition if self._partition >= 0 else meta.partition))  # fmt: skip
        for cid in changed:
            self.clusters.put(key(ns, cid), clusterer.snapshot(cid))
        for cid in removed:
            self.clusters.delete(key(ns, cid))
        self._clusterers[ns] = (clusterer, events)

    # ------------------------------------------------------------------ refresh triggers

    def _add_pending(self, ns: str, cid: int, event_id: str, now: float) -> None:
        work = self.work.get(key(ns, cid)) or ClusterWork()
        if event_id not in work.pending:
            work.pending.append(event_id)
            work.oldest_pending = work.oldest_pending or now
        self.work.put(key(ns, cid), work)

    def _sample_reservoir(self, ns: str, cid: int, event_id: str) -> None:
        """Algorithm R: every log of the cluster has the same chance to be in the reservoir."""
        size = self.settings.reservoir_size
        work = self.work.get(key(ns, cid)) or ClusterWork()
        work.reservoir_seen += 1
        if len(work.reservoir) < size:
            work.reservoir.append(event_id)
        elif size and (slot := self._rng.randrange(work.reservoir_seen)) < size:
            work.reservoir[slot] = event_id
        self.work.put(key(ns, cid), work)

    async def _maybe_refresh(self, ns: str, cid: int, now: float, drifted: bool = False) -> None:
        work = self.work.get(key(ns, cid))
        if work is None or not work.pending:
            return
        if len(work.pending) >= self.settings.refresh_min_logs:
            await self._request_refresh(ns, cid, "count", now)
        elif drifted:
            await self._request_refresh(ns, cid, "drift", now)

    async def _request_refresh(self, ns: str, cid: int, reason: str, now: float) -> None:
        work = self.work.get(key(ns, cid))
        batch_ids, rest = work.pending[:MAX_BATCH], work.pending[MAX_BATCH:]
        logs = [s.log for s in (self.logs.get(key(ns, e)) for e in batch_ids) if s is not None]
        reservoir = [s.log for s in (self.logs.get(key(ns, e)) for e in work.reservoir if e not in batch_ids)
                     if s is not None]  # fmt: skip
        if logs:
            batch_id = hashlib.sha1("\n".join([ns, str(cid), *batch_ids]).encode()).hexdigest()[:24]
            request = RefreshRequest(namespace=ns, cluster_id=cid, batch_id=batch_id, reason=reason,
                                     snapshot=self._clusterer(ns).snapshot(cid), logs=logs, reservoir=reservoir,
                                     requested_at=now)  # fmt: skip
            await self.send("refresh", key(ns, cid), msgspec.msgpack.encode(request))
            self.metrics.refresh_requests.labels(reason).inc()
        work.pending = rest
        work.oldest_pending = now if rest else None
        work.refreshes_sent += 1
        self.work.put(key(ns, cid), work)

    # ------------------------------------------------------------------ housekeeping

    def _fold_work(self, ns: str, absorbed: int, survivor: int) -> None:
        """A merge: the absorbed cluster's pending logs and reservoir move to the survivor."""
        old = self.work.get(key(ns, absorbed))
        if old is None:
            return
        work = self.work.get(key(ns, survivor)) or ClusterWork()
        work.pending += [e for e in old.pending if e not in work.pending]
        if old.oldest_pending is not None:
            work.oldest_pending = min(work.oldest_pending or old.oldest_pending, old.oldest_pending)
        room = self.settings.reservoir_size - len(work.reservoir)
        work.reservoir += old.reservoir[: max(0, room)]
        work.reservoir_seen += old.reservoir_seen
        self.work.put(key(ns, survivor), work)
        self.work.delete(key(ns, absorbed))
        self._drift.pop((ns, absorbed), None)

    def _drop_cluster(self, ns: str, cid: int) -> None:
        self.clusters.delete(key(ns, cid))
        self.work.delete(key(ns, cid))
        self._drift.pop((ns, cid), None)

    def _purge(self, ns: str, now: float) -> None:
        s = self.settings
        for k, orphan in self.orphans.items_with_prefix(ns + "/"):
            if now - orphan.first_seen > s.feedback_ttl_s:
                self.orphans.delete(k)
                self.metrics.feedback_expired.inc(len(orphan.feedback))
        for k, at in self.seen.items_with_prefix(ns + "/"):
            if now - at > s.dedupe_ttl_s:
                self.seen.delete(k)
        referenced = set()
        for _, work in self.work.items_with_prefix(ns + "/"):
            referenced.update(work.pending, work.reservoir)
        for k, stored in self.logs.items_with_prefix(ns + "/"):
            if now - stored.stored_at > s.feedback_ttl_s and stored.log.event_id not in referenced:
                self.logs.delete(k)

    # ------------------------------------------------------------------ edges

    def _log_record(self, event: InteractionEvent, feedback: list[Feedback], source: Source) -> LogRecord:
        limit = self.settings.max_log_chars
        redacted = [redact_feedback(fb, limit) for fb in feedback]
        return LogRecord(event_id=event.event_id, namespace=event.namespace, timestamp=event.timestamp,
                         user_id=event.user_id, query=redact(event.user_query[:limit]),
                         response=redact(event.response[:limit]), feedback=redacted[-64:],
                         satisfaction=satisfaction(redacted),
                         provenance=Provenance(source.topic, source.partition, source.offset, source.offset))  # fmt: skip

    async def _key_matches(self, raw: bytes, source: Source, namespace: str, kind: str) -> bool:
        # State is partitioned by namespace: an event keyed otherwise would split a namespace's state.
        if source.key is not None and source.key.decode(errors="replace") == namespace:
            return True
        err = ContractError("$.namespace", f"the record key must be the namespace ({namespace!r}), "
                                           f"got {source.key!r}")  # fmt: skip
        await self._dead_letter(raw, source, err, kind, reason="key_mismatch")
        return False

    async def _dead_letter(self, raw: bytes, source: Source, err: ContractError, kind: str,
                           reason: str | None = None) -> None:  # fmt: skip
        reason = reason or dlq_reason(err)
        letter = DeadLetter(topic=source.topic, partition=source.partition, offset=source.offset, key=source.key,
                            original=raw, reason=reason, path=err.path[:256], error=err.reason[:4_000],
                            failed_at=self.clock())  # fmt: skip
        await self.send("dlq", source.key.decode(errors="replace") if source.key else "", encode(letter))
        self.metrics.dlq.labels(reason).inc()
        self.metrics.events.labels(kind, "invalid").inc()


def state_views(table: MutableMapping) -> tuple[TypedTable[NamespaceMeta], TypedTable[StoredLog]]:
    """The namespace metadata and the stored logs of an ingest state (also read back by `uno eval`)."""
    return TypedTable(table, NamespaceMeta, "meta"), TypedTable(table, StoredLog, "log")


def dlq_reason(err: ContractError) -> str:
    """A small, fixed set of reasons for metrics: malformed bytes, oversized fields, other violations."""
    if err.path == "$" and ("malformed" in err.reason or "truncated" in err.reason):
        return "malformed"
    if "length <=" in err.reason:
        return "too_large"
    return "invalid"


def tick_bytes(namespace: str, at: float) -> bytes:
    return msgspec.msgpack.encode(Tick(namespace=namespace, at=at))


