"""Ingest's domain logic: logs, late feedback, de-duplication, clusters, reservoirs and refresh triggers.

The idea in plain words. Every interaction is remembered by its event id for ``dedupe_ttl_s``, so
a redelivered record changes nothing. Its texts are redacted and stored as a log. A log with a
usable signal (feedback) is embedded, assigned to its namespace's online cluster, appended to the
cluster's *pending* list and, by reservoir sampling, maybe to its *reservoir* (a uniform sample of
past logs, for the win-rate gate). Feedback may arrive later than its interaction: it joins the
stored log (clustering it now if it had no signal before), or waits as an *orphan* until the
interaction arrives or the TTL passes. A cluster asks for a refresh when ``refresh_min_logs``
feedback logs are pending, when drift in its satisfaction is detected (ADWIN), or, on a tick, when
its oldest pending log is older than ``refresh_max_age_s``. When two clusters merge, the absorbed
one's pending logs and reservoir fold into the survivor.

Everything is plain Python over a mapping (a Faust table in the worker, a dict in a test or a batch
replay), changed one transaction at a time (`processors.state.State`). The caller drives it:

- ``with ingest.txn(namespace):`` around each record, then `interaction`, `feedback` or `tick`;
- the refresh requests the record produced wait in `Ingest.outbox`; the caller sends them (and has
  them acknowledged) *before* the transaction ends, so no log leaves the pending list before the
  request that carries it is durable;
- counts and timings go to an `IngestObserver` (the worker's Prometheus metrics).

>>> from processors.embedders.hashing import HashingEmbedder
>>> from uno_models import Settings, decode_interaction
>>> ingest = Ingest(Settings(refresh_min_logs=2), HashingEmbedder(64), {}, clock=lambda: 1.7e9)
>>> for i in range(2):
...     event = decode_interaction(f'{{"event_id": "e{i}", "timestamp": 1.7e9, "namespace": "legal", '
...                                f'"query": "Is a verbal contract binding?", "response": "It depends.", '
...                                f'"feedback": [{{"kind": "text", "text": "Cite the article."}}]}}'.encode())
...     with ingest.txn("legal"):
...         ingest.interaction(event, Provenance("uno.interactions", 0, i, i))
...         sent = ingest.take_outbox()
>>> [(key, request.reason, len(request.logs)) for key, request in sent]
[('legal/0', 'count', 2)]
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Protocol

import msgspec
import numpy as np
from river import drift

from processors.clustering import OnlineClusterer
from processors.embedders import Embedder
from processors.expiry import Ledger
from processors.pii import Pseudonymiser, redact, redact_feedback
from processors.state import State, TypedTable, key
from uno_models import (
    ClustererState,
    ClusterSnapshot,
    FeedbackEvent,
    InteractionEvent,
    LogRecord,
    Provenance,
    Settings,
    satisfaction,
    signal_of,
)
from uno_models.limits import MAX_FEEDBACK_ITEMS
from uno_models.stream import (
    MAX_BATCH,
    MAX_REQUEST_BYTES,
    ClusterWork,
    NamespaceMeta,
    OrphanFeedback,
    RefreshRequest,
    StoredLog,
)


class IngestObserver(Protocol):
    """Where ingest reports what it did (the worker's metrics implement it; `NullObserver` ignores it)."""

    def counted(self, kind: str, result: str, n: int = 1) -> None:
        """An event of ``kind`` (interaction, feedback, tick) ended as ``result`` (ok, duplicate, joined, ...)."""

    def timed(self, stage: str, seconds: float) -> None:
        """How long a step took: ``embed`` or ``assign``."""

    def refresh_requested(self, reason: str) -> None: ...

    def clusters(self, namespace: str, active: int) -> None: ...

    def backlog(self, namespace: str, oldest_pending_s: float) -> None: ...

    def feedback_expired(self, n: int) -> None: ...


class Deferred:
    """An `IngestObserver` that holds the calls made inside a transaction and passes them on when it
    commits: a record undone (its savepoint) or a batch retried (a dependency failed after part of it
    was applied) is counted once, as the state has it."""

    def __init__(self, inner: IngestObserver):
        self.inner = inner
        self.held: list[tuple[Callable, tuple]] | None = None  # None: outside a transaction

    def __getattr__(self, name: str) -> Callable:
        method = getattr(self.inner, name)

        def call(*args) -> None:
            if self.held is None:
                method(*args)
            else:
                self.held.append((method, args))

        return call

    def commit(self) -> None:
        held, self.held = self.held or [], None
        for method, args in held:
            method(*args)


class NullObserver:
    """An `IngestObserver` that records nothing (benchmarks, batch replays)."""

    def counted(self, kind: str, result: str, n: int = 1) -> None:
        pass

    def timed(self, stage: str, seconds: float) -> None:
        pass

    def refresh_requested(self, reason: str) -> None:
        pass

    def clusters(self, namespace: str, active: int) -> None:
        pass

    def backlog(self, namespace: str, oldest_pending_s: float) -> None:
        pass

    def feedback_expired(self, n: int) -> None:
        pass


class DependencyError(RuntimeError):
    """A dependency (the embedder) failed: the record is not at fault, so it is retried, never dropped."""

    def __init__(self, dependency: str, error: BaseException):
        super().__init__(f"{dependency} unavailable: {type(error).__name__}: {error}"[:500])
        self.dependency = dependency


class EmbedderMismatchError(RuntimeError):
    """A namespace was clustered with another embedder: its vector space cannot take this one's vectors."""


class Ingest:
    """Ingest's state and rules over one mapping; see the module docstring for the example.

    Parameters
    ----------
    settings
        TTLs, refresh triggers, reservoir size, clustering parameters, text limits.
    embedder
        Embeds queries and feedback texts; its id is recorded per namespace.
    table
        The state: any mutable mapping of ``str`` to ``bytes``.
    observer
        Receives counts and timings.
    clock
        Seconds since the epoch (a fixed clock makes runs reproducible).
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        table: MutableMapping,
        observer: IngestObserver | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.pseudonym = Pseudonymiser(settings.pseudonym_key())
        self.embedder = embedder
        self.observer = Deferred(observer or NullObserver())
        self.clock = clock
        self.state = State(table)
        self.namespaces, self.logs = state_views(self.state)
        self.clusters = TypedTable(self.state, ClusterSnapshot, "cluster")
        self.work = TypedTable(self.state, ClusterWork, "work")
        self.seen = TypedTable(self.state, float, "seen")
        self.orphans = TypedTable(self.state, OrphanFeedback, "orphan")
        self.expiring = {kind: Ledger(self.state, kind) for kind in ("log", "seen", "orphan")}  # TTLs, no scans
        self.outbox: list[tuple[str, RefreshRequest]] = []
        self._clusterers: dict[str, tuple[OnlineClusterer, int]] = {}
        self._drift: dict[tuple[str, int], drift.ADWIN] = {}
        self._rng = random.Random(0)
        self._partition = -1  # input partition of the record being handled
        self._vectors: dict[str, np.ndarray] = {}  # embedded ahead of time for the batch in hand (`preload`)
        self.refresh_scale: Callable[[], int] = lambda: 1  # more logs per refresh while refreshes queue up
        self.partitions: dict[str, int] = {}  # namespace -> input partition, as this process last wrote it
        self._listed_for: frozenset | None = None  # the partitions held when `partitions` was last listed
        self.quiet: dict[str, float] = {}  # namespace -> when its last tick found no pending work (`tick_due`)

    @contextmanager
    def txn(self, namespace: str) -> Iterator[None]:
        """One record's changes to a namespace: all of them survive a hard kill, or none (`State.txn`).
        What it reports to the observer is reported when it commits."""
        self.observer.held = []
        try:
            with self.state.txn(namespace):
                yield
        except BaseException:
            self.observer.held = None
            self._forget(namespace)
            raise
        self.observer.commit()

    @contextmanager
    def savepoint(self, namespace: str) -> Iterator[None]:
        """One record inside a batch transaction: if it raises, its changes (state, outbox, the cached
        clusterer) are undone and the batch goes on without it."""
        outbox, held = len(self.outbox), len(self.observer.held or [])
        try:
            with self.state.savepoint():
                yield
        except BaseException:
            del self.outbox[outbox:]
            if self.observer.held is not None:
                del self.observer.held[held:]
            self._clusterers.pop(namespace, None)  # mutated in memory: rebuilt from the state
            self._forget(namespace)
            raise

    def _forget(self, namespace: str) -> None:
        """A failed record: its namespace's metadata may not be written, so `_known` looks again, and the
        next tick lists the table's namespaces again (`tick_targets`)."""
        self.partitions.pop(namespace, None)
        self._listed_for = None

    def texts(self, event: InteractionEvent | FeedbackEvent) -> list[str]:
        """What handling ``event`` will embed, as far as can be told before its transaction (a batch
        embeds these in one call, off the event loop; anything missed, e.g. feedback of an earlier
        record of the same batch, is embedded when needed, on the loop)."""
        if isinstance(event, InteractionEvent):  # only what is embedded: the query and the verbal feedback
            limit = self.settings.max_log_chars
            feedback = [redact_feedback(fb, limit) if signal_of(fb).verbal else fb for fb in event.feedback]
            orphan = self.orphans.get(key(event.namespace, event.event_id))  # joins it: stored redacted
            feedback += [fe.to_feedback() for fe in orphan.feedback] if orphan is not None else []
            query = redact(event.user_query[:limit])
            log = LogRecord(
                event_id=event.event_id,
                namespace=event.namespace,
                timestamp=event.timestamp,
                query=query,
                feedback=feedback,
            )
        else:
            stored = self.logs.get(key(event.namespace, event.event_id))
            if stored is None:
                return []
            fb = redact_feedback(event.to_feedback(), self.settings.max_log_chars)
            log = msgspec.structs.replace(stored.log, feedback=[*stored.log.feedback, fb])
        return _texts_of(log)

    def preload(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors embedded ahead of time, by text, for the records about to be handled."""
        self._vectors = vectors

    def take_outbox(self) -> list[tuple[str, RefreshRequest]]:
        """The refresh requests produced since the last call, keyed ``namespace/cluster``."""
        out, self.outbox = self.outbox, []
        return out

    # ------------------------------------------------------------------ the three inputs

    def interaction(self, event: InteractionEvent, source: Provenance) -> None:
        """A decoded interaction, read at ``source`` (topic, partition, offset)."""
        self._partition = source.partition
        if not self._first_interaction(event.namespace, event.event_id):
            return
        ns, now = event.namespace, self.clock()
        log = self._log_record(event, source)
        orphan = self.orphans.get(key(ns, event.event_id))
        if orphan is not None:  # feedback that arrived first (stored redacted and pseudonymised)
            feedback = [*log.feedback, *(fe.to_feedback() for fe in orphan.feedback)][-MAX_FEEDBACK_ITEMS:]
            log = msgspec.structs.replace(log, feedback=feedback, satisfaction=satisfaction(feedback))
            self.orphans.delete(key(ns, event.event_id))
            self.observer.counted("feedback", "joined", len(orphan.feedback))
        stored = StoredLog(log=log, stored_at=now)
        self.expiring["log"].add(ns, event.event_id, now + self.settings.feedback_ttl_s)
        if not stored.log.feedback:
            self.logs.put(key(ns, event.event_id), stored)  # kept for late feedback, until the TTL
            self.observer.counted("interaction", "no_signal")
            return
        self._cluster(stored, now)
        self.observer.counted("interaction", "ok")

    def feedback(self, fe: FeedbackEvent, source: Provenance, fallback_id: str) -> None:
        """Late feedback; ``fallback_id`` identifies it when it has no ``feedback_id`` (a hash of its bytes,
        so that a redelivered record is recognised)."""
        self._partition = source.partition
        if not self._first_feedback(fe.namespace, fe.feedback_id or fallback_id):
            return
        ns, now = fe.namespace, self.clock()
        stored = self.logs.get(key(ns, fe.event_id))
        if stored is not None:
            log = stored.log
            fb = self.pseudonym.feedback(ns, fe.to_feedback(), self.settings.max_log_chars)
            merged = [*log.feedback, fb]
            kept = merged[-MAX_FEEDBACK_ITEMS:]
            log = msgspec.structs.replace(log, feedback=kept, satisfaction=satisfaction(merged))
            refreshed = max(0, stored.refreshed - (len(merged) - len(kept)))  # the oldest items may drop out
            stored = msgspec.structs.replace(stored, log=log, refreshed=refreshed)
            if stored.cluster_id < 0:
                self._cluster(stored, now)
            else:
                cid = self._clusterer(ns).resolve(stored.cluster_id)
                self.logs.put(key(ns, fe.event_id), stored)
                self._add_pending(ns, cid, fe.event_id, now)
                self._maybe_refresh(ns, cid, now)
            self.observer.counted("feedback", "joined")
        elif self.seen.has(key(ns, "e", fe.event_id)):
            self.observer.counted("feedback", "too_late")  # its log is past the TTL: counted, dropped
        else:
            orphan = self.orphans.get(key(ns, fe.event_id))
            if orphan is None:
                orphan = OrphanFeedback(feedback=[], first_seen=now)
                self.expiring["orphan"].add(ns, fe.event_id, now + self.settings.feedback_ttl_s)
            if len(orphan.feedback) >= MAX_FEEDBACK_ITEMS:  # a log keeps no more: bounded, counted
                self.observer.counted("feedback", "orphan_full")
                return
            fb = self.pseudonym.feedback(ns, fe.to_feedback(), self.settings.max_log_chars)  # never stored raw
            orphan.feedback.append(msgspec.structs.replace(fe, text=fb.text, user_id=fb.user_id))
            self.orphans.put(key(ns, fe.event_id), orphan)
            self.observer.counted("feedback", "orphaned")

    def tick_due(self, ns: str) -> bool:
        """Whether a tick of ``ns`` is due: every ``tick_interval_s`` while it has pending work (the age
        trigger), every ``quiet_tick_interval_s`` while it has none (TTL purges, idle clusters), so that
        many quiet namespaces do not turn ticks into steady traffic. Unknown (after a restart): due."""
        since = self.quiet.get(ns)
        return since is None or self.clock() - since >= self.settings.quiet_tick_interval_s

    def tick(self, ns: str) -> None:
        """Time-based work of a namespace: retire idle clusters, the age trigger, TTL purges."""
        self._partition = -1
        now = self.clock()
        self.observer.counted("tick", "ok")
        if self.namespaces.get(ns) is None:
            self.quiet[ns] = now
            return
        clusterer = self._clusterer(ns)
        retired = clusterer.retire_idle(now)
        for cid in retired:
            self._drop_cluster(ns, cid)
            self._lifecycle(ns, cid, "retired", now)
        if retired:
            self._save(ns, clusterer, changed=())
        backlog, waiting = 0.0, False
        for cid in clusterer.active_ids:
            work = self.work.get(key(ns, cid))
            if work and work.pending:
                age = now - (work.oldest_pending or now)
                backlog = max(backlog, age)
                if age >= self.settings.refresh_max_age_s:
                    self._request_refresh(ns, cid, "age", now)
                    work = self.work.get(key(ns, cid))  # logs past one request's cap still wait
                waiting = waiting or bool(work and work.pending)
        self.observer.backlog(ns, backlog)
        self._purge(ns, now)
        if waiting:
            self.quiet.pop(ns, None)
        else:
            self.quiet[ns] = now

    def describe(self, ns: str) -> list[dict]:
        """The namespace's clusters as this state holds them (for the operators' /v1/clusters view)."""
        meta = self.namespaces.get(ns)
        if meta is None:
            return []
        out = []
        for cid in meta.active:
            snap = self.clusters.get(key(ns, cid))
            work = self.work.get(key(ns, cid)) or ClusterWork()
            if snap is not None:
                out.append(
                    {
                        "cluster_id": cid,
                        "logs": snap.logs,
                        "feedback_logs": snap.feedback_logs,
                        "pending": len(work.pending),
                        "refreshes_requested": work.refreshes_sent,
                        "aliases": sorted(a for a, b in meta.aliases.items() if b == cid),
                        "last_seen": snap.last_seen,
                    }
                )
        return out

    def _first_feedback(self, ns: str, feedback_id: str) -> bool:
        """De-duplication of late feedback by its id: False (counted) for feedback already processed."""
        if self.seen.has(key(ns, "f", feedback_id)):
            self.observer.counted("feedback", "duplicate")
            return False
        now = self.clock()
        self.seen.put(key(ns, "f", feedback_id), now)
        self.expiring["seen"].add(ns, f"f/{feedback_id}", now + self.settings.dedupe_ttl_s)
        self._known(ns)
        return True

    def _first_interaction(self, ns: str, event_id: str) -> bool:
        """De-duplication of an interaction: False (counted) for one already processed. Its stored log stands
        for its id while it is kept (a day, for late feedback); the purge that deletes the log writes the id
        for the rest of ``dedupe_ttl_s`` (`_expire_log`). So ingest writes one key per event, not two: each
        table write is a changelog record (docs/benchmarks.md, "The framework's own ceiling")."""
        if self.logs.has(key(ns, event_id)) or self.seen.has(key(ns, "e", event_id)):
            self.observer.counted("interaction", "duplicate")
            return False
        self._known(ns)
        return True

    def _expire_log(self, ns: str, event_id: str, stored: StoredLog) -> None:
        """Delete a log past its TTL; its event id is remembered until ``dedupe_ttl_s`` after it arrived."""
        self.logs.delete(key(ns, event_id))
        due = stored.stored_at + self.settings.dedupe_ttl_s
        if due > self.clock():
            self.seen.put(key(ns, "e", event_id), stored.stored_at)
            self.expiring["seen"].add(ns, f"e/{event_id}", due)

    def tick_targets(self, held: frozenset) -> dict[str, int]:
        """Namespace -> partition, for the tick timer. Listed from the table (a scan of every key: a day
        of logs) only when ``held``, the partitions this worker holds, changed since the last listing
        (a rebalance brings namespaces recovered from the changelog) or a failed record made this
        process forget one; otherwise what ingest wrote since keeps it current. Before 2026-11-30 the
        timer scanned once a minute: RSS peaks that grew with the state (docs/benchmarks.md)."""
        if held != self._listed_for:
            self.partitions = {ns: meta.partition for ns, meta in self.namespaces.items_with_prefix("")}
            self._listed_for = held
        return self.partitions

    def _known(self, ns: str) -> None:
        """Give a namespace its metadata on its first record, clustered or not: the ticks that purge its
        TTLs go to the namespaces (and partitions) the metadata lists. Before, a namespace whose records
        never carried feedback had none, was never ticked, and kept its logs and ids for good."""
        if self.partitions.get(ns) == self._partition:
            return
        meta = self.namespaces.get(ns)
        if meta is None or meta.partition != self._partition:
            meta = meta or NamespaceMeta(embedder_id=self.embedder.id)
            self.namespaces.put(ns, msgspec.structs.replace(meta, partition=self._partition))
        self.partitions[ns] = self._partition

    # ------------------------------------------------------------------ clustering

    def _cluster(self, stored: StoredLog, now: float) -> None:
        log = stored.log
        ns = log.namespace
        clusterer = self._clusterer(ns)
        vectors = self._embed(_texts_of(log))
        start = time.perf_counter()
        features = clusterer.features(vectors[0], vectors[1] if len(vectors) > 1 else None)
        assignment = clusterer.learn_vector(
            features, vectors[0], timestamp=log.timestamp, feedback=True, satisfaction=log.satisfaction
        )
        self.observer.timed("assign", time.perf_counter() - start)
        cid = assignment.cluster_id
        for absorbed in assignment.merged:
            survivor = clusterer.resolve(absorbed)
            self._fold_work(ns, absorbed, survivor)
            self._lifecycle(ns, absorbed, "merged", now, into=survivor, snapshot=clusterer.snapshot(survivor))
        if assignment.rescaled:
            changed = clusterer.active_ids
        else:
            changed = {cid, *(clusterer.resolve(m) for m in assignment.merged)}
        self._save(ns, clusterer, changed, removed=assignment.merged)
        self.logs.put(key(ns, log.event_id), msgspec.structs.replace(stored, cluster_id=cid))
        self._add_pending(ns, cid, log.event_id, now)
        self._sample_reservoir(ns, cid, log.event_id)
        self.observer.clusters(ns, len(clusterer.active_ids))
        drifted = False
        if log.satisfaction is not None:
            detector = self._drift.setdefault((ns, cid), drift.ADWIN())
            detector.update(log.satisfaction)
            drifted = detector.drift_detected
        self._maybe_refresh(ns, cid, now, drifted)

    def _embed(self, texts: list[str]) -> np.ndarray:
        found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            start = time.perf_counter()
            try:
                found.update(zip(missing, self.embedder.embed(missing), strict=True))
            except Exception as err:
                raise DependencyError("embedder", err) from err
            self.observer.timed("embed", time.perf_counter() - start)
        return np.stack([found[t] for t in texts])

    def _clusterer(self, ns: str) -> OnlineClusterer:
        """The namespace's clusterer, rebuilt from the state when the in-memory copy is missing or stale
        (after a restart, or when another worker held the partition in between)."""
        meta = self.namespaces.get(ns) or NamespaceMeta(embedder_id=self.embedder.id)
        if meta.embedder_id != self.embedder.id:
            raise EmbedderMismatchError(
                f"namespace {ns!r} was clustered with {meta.embedder_id!r}, this worker embeds with "
                f"{self.embedder.id!r}: rebuild the namespace, never mix vector spaces"
            )
        cached = self._clusterers.get(ns)
        if cached is not None and cached[1] == meta.events:
            return cached[0]
        snapshots = [s for s in (self.clusters.get(key(ns, cid)) for cid in meta.active) if s is not None]
        state = ClustererState(
            namespace=ns,
            embedder_id=meta.embedder_id,
            next_id=meta.next_id,
            seen=meta.seen,
            clusters=snapshots,
            aliases=meta.aliases,
        )
        s = self.settings
        clusterer = OnlineClusterer.from_state(
            state, ward_scale=s.ward_scale, max_clusters=s.max_clusters, idle_ttl_s=s.cluster_idle_ttl_s or None
        )
        self._clusterers[ns] = (clusterer, meta.events)
        return clusterer

    def _save(self, ns: str, clusterer: OnlineClusterer, changed, removed=()) -> None:
        meta = self.namespaces.get(ns) or NamespaceMeta(embedder_id=self.embedder.id)
        events = meta.events + 1
        new_meta = NamespaceMeta(
            embedder_id=self.embedder.id,
            next_id=clusterer.next_id,
            seen=clusterer.seen,
            aliases=clusterer.aliases,
            active=clusterer.active_ids,
            events=events,
            partition=self._partition if self._partition >= 0 else meta.partition,
            expiry_ledger=meta.expiry_ledger,
        )
        self.namespaces.put(ns, new_meta)
        self.partitions[ns] = new_meta.partition
        for cid in changed:
            self.clusters.put(key(ns, cid), clusterer.snapshot(cid))
        for cid in removed:
            self.clusters.delete(key(ns, cid))
        self._clusterers[ns] = (clusterer, events)

    # ------------------------------------------------------------------ refresh triggers

    def _add_pending(self, ns: str, cid: int, event_id: str, now: float) -> None:
        self.quiet.pop(ns, None)  # work for the age trigger: ticks at the normal rate again
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

    def _maybe_refresh(self, ns: str, cid: int, now: float, drifted: bool = False) -> None:
        work = self.work.get(key(ns, cid))
        if work is None or not work.pending:
            return
        if len(work.pending) >= min(MAX_BATCH, self.settings.refresh_min_logs * self.refresh_scale()):
            self._request_refresh(ns, cid, "count", now)
        elif drifted:
            self._request_refresh(ns, cid, "drift", now)

    def _request_refresh(self, ns: str, cid: int, reason: str, now: float) -> None:
        """Requests for the cluster's pending logs (up to ``MAX_BATCH``): one, or several when their
        size would pass ``MAX_REQUEST_BYTES`` (a broker refuses records over its limit, 1 MB by default,
        and a refused request would block the partition)."""
        work = self.work.get(key(ns, cid))
        batch_ids, rest = work.pending[:MAX_BATCH], work.pending[MAX_BATCH:]
        logs = [log for e in batch_ids if (log := self._unsent(ns, e)) is not None]
        held_out = (self.logs.get(key(ns, e)) for e in work.reservoir if e not in batch_ids)
        reservoir = _within([s.log for s in held_out if s is not None], MAX_REQUEST_BYTES // 4)
        snapshot = self._clusterer(ns).snapshot(cid)
        budget = MAX_REQUEST_BYTES - len(msgspec.msgpack.encode(snapshot)) - sum(map(_size, reservoir))
        while logs:
            part = _within(logs, budget) or logs[:1]
            logs = logs[len(part) :]
            ids = [log.event_id for log in part]
            batch_id = hashlib.sha1("\n".join([ns, str(cid), *ids]).encode()).hexdigest()[:24]
            request = RefreshRequest(
                namespace=ns,
                cluster_id=cid,
                batch_id=batch_id,
                reason=reason,
                snapshot=snapshot,
                logs=part,
                reservoir=reservoir,
                requested_at=now,
            )
            self.outbox.append((key(ns, cid), request))
            self.observer.refresh_requested(reason)
        work.pending = rest
        work.oldest_pending = now if rest else None
        work.refreshes_sent += 1
        self.work.put(key(ns, cid), work)

    def _unsent(self, ns: str, event_id: str) -> LogRecord | None:
        """The log as its next refresh must see it: whole the first time; after that only the feedback
        that arrived since, marked ``late``, so that nothing in it is counted twice."""
        stored = self.logs.get(key(ns, event_id))
        if stored is None or stored.refreshed >= len(stored.log.feedback):
            return None
        log = stored.log
        if stored.refreshed:
            earlier = satisfaction(log.feedback[: stored.refreshed])
            log = msgspec.structs.replace(
                log, feedback=log.feedback[stored.refreshed :], late=True, earlier_satisfaction=earlier
            )
        self.logs.put(key(ns, event_id), msgspec.structs.replace(stored, refreshed=len(stored.log.feedback)))
        return log

    def _lifecycle(self, ns: str, cid: int, reason: str, now: float, into: int | None = None, snapshot=None) -> None:
        """Tell the refresh side that a cluster was merged away or retired: its module stops being served,
        and a merged cluster's knowledge folds into its survivor's."""
        batch_id = hashlib.sha1(f"{ns}\n{cid}\n{reason}\n{into}".encode()).hexdigest()[:24]
        request = RefreshRequest(
            namespace=ns,
            cluster_id=cid,
            batch_id=batch_id,
            reason=reason,
            snapshot=snapshot,
            into=into,
            logs=[],
            requested_at=now,
        )
        self.outbox.append((key(ns, cid), request))
        self.observer.refresh_requested(reason)

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

    def _expiring(self) -> dict[str, tuple[TypedTable, float, Callable]]:
        """Each kind of key that expires: its table, its TTL, and when a value of it was born."""
        s = self.settings
        return {
            "orphan": (self.orphans, s.feedback_ttl_s, lambda orphan: orphan.first_seen),
            "seen": (self.seen, s.dedupe_ttl_s, lambda at: at),
            "log": (self.logs, s.feedback_ttl_s, lambda stored: stored.stored_at),
        }

    def _purge(self, ns: str, now: float) -> None:
        """Delete what is past its TTL: O(keys due), read off the expiry ledgers (processors.expiry). A log
        pending a refresh or in a reservoir is kept and looked at again a TTL later."""
        self._backfill_ledgers(ns)
        referenced: set[str] | None = None
        for kind, (table, ttl, born) in self._expiring().items():
            ledger = self.expiring[kind]
            for suffix in ledger.expire(ns, now):
                value = table.get(key(ns, suffix))
                if value is None:
                    continue
                if kind == "log" and referenced is None:
                    referenced = self._referenced(ns)
                if kind == "log" and suffix in referenced:
                    ledger.add(ns, suffix, now + ttl)
                elif now - born(value) > ttl:
                    if kind == "log":
                        self._expire_log(ns, suffix, value)
                    else:
                        table.delete(key(ns, suffix))
                    if kind == "orphan":
                        self.observer.feedback_expired(len(value.feedback))
                else:
                    ledger.add(ns, suffix, born(value) + ttl)

    def _referenced(self, ns: str) -> set[str]:
        """Event ids of the namespace's logs pending a refresh or in a reservoir."""
        out: set[str] = set()
        for cid in self._clusterer(ns).active_ids:
            work = self.work.get(key(ns, cid))
            if work is not None:
                out.update(work.pending, work.reservoir)
        return out

    def _backfill_ledgers(self, ns: str) -> None:
        """Once per namespace written before the expiry ledgers existed: one scan puts its keys on them."""
        meta = self.namespaces.get(ns)
        if meta is None or meta.expiry_ledger:
            return
        cut = len(ns) + 1
        for kind, (table, ttl, born) in self._expiring().items():
            entries = ((born(value) + ttl, k[cut:]) for k, value in table.items_with_prefix(ns + "/"))
            self.expiring[kind].backfill(ns, entries)
        self.namespaces.put(ns, msgspec.structs.replace(meta, expiry_ledger=True))

    def _log_record(self, event: InteractionEvent, source: Provenance) -> LogRecord:
        """The event as stored: texts redacted, user ids pseudonymised."""
        limit, ns = self.settings.max_log_chars, event.namespace
        redacted = [self.pseudonym.feedback(ns, fb, limit) for fb in event.feedback]
        return LogRecord(
            event_id=event.event_id,
            namespace=event.namespace,
            timestamp=event.timestamp,
            user_id=self.pseudonym(ns, event.user_id),
            query=redact(event.user_query[:limit]),
            response=redact(event.response[:limit]),
            feedback=redacted[-MAX_FEEDBACK_ITEMS:],
            satisfaction=satisfaction(redacted),
            provenance=source,
        )


def _size(log: LogRecord) -> int:
    return len(msgspec.msgpack.encode(log))


def _within(logs: list[LogRecord], budget: int) -> list[LogRecord]:
    """The longest head of ``logs`` whose encoded size fits ``budget``."""
    out, used = [], 0
    for log in logs:
        used += _size(log)
        if used > budget:
            break
        out.append(log)
    return out


def _texts_of(log: LogRecord) -> list[str]:
    """A log's query and, if it has any, its verbal feedback joined: what its clustering features embed."""
    verbal = " ".join(fb.text for fb in log.feedback if fb.text and signal_of(fb).verbal)
    return [log.query, verbal] if verbal else [log.query]


def state_views(table: MutableMapping) -> tuple[TypedTable[NamespaceMeta], TypedTable[StoredLog]]:
    """The namespace metadata and the stored logs of an ingest state (also read back by `uno eval`)."""
    return TypedTable(table, NamespaceMeta, "meta"), TypedTable(table, StoredLog, "log")
