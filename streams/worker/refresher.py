"""The refresh side: RefreshRequest -> ClusterRefresh -> module published, pairs emitted.

Requests are keyed by ``namespace/cluster``. Up to ``refresh_concurrency`` refreshes run at once
per worker (the agent's concurrency, each in its own worker thread so the event loop keeps
heartbeating), never two of one cluster: a lock per cluster key. Failures:

- transient (LLM transport error, Qdrant unreachable): retried with exponential backoff, without
  limit: the request, and the logs inside it, stay on the topic uncommitted until it succeeds;
- unparseable LLM output after the wrapper's own retries: retried ``max_attempts`` times, then the
  request goes to the dead-letter topic (logs included, replayable with ``uno dlq replay``);
- anything else: dead-lettered at once, with the error.

A request that cannot be decoded goes to the dead-letter topic (it never stops the partition).
A request whose ``batch_id`` was already applied (a replay after a crash) is skipped, so support is
never counted twice. The module is in the store, and the module and pairs records are acknowledged
by the broker, before the knowledge table records the batch as applied: a worker killed in between
runs the refresh again (the store refuses the version it has; the pairs topic may get a pair twice,
never none). Dead letters are keyed by the cluster, so `uno dlq replay` sends them to its partition.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import msgspec

from processors.embedders.base import EmbedderUnavailableError
from processors.llm import LLMError
from processors.refresh import ClusterRefresh
from processors.retry import backoff_s
from processors.state import TypedTable, key
from processors.store import StoreUnavailableError
from streams.worker.ingest import Send
from streams.worker.metrics import Metrics
from uno_models import ClusterKnowledge, encode
from uno_models.stream import DeadLetter, KnowledgeRecord, RefreshRequest

log = logging.getLogger(__name__)


def adapt_scale(scale: int, waited_s: float, target_s: float, most: int = 8) -> int:
    """How many times ``refresh_min_logs`` a refresh should wait for, given how long the latest request
    waited to start: doubled while requests wait longer than ``target_s`` (fewer, larger refreshes
    drain a queue), halved back once they wait less than a quarter of it.

    >>> adapt_scale(1, 90.0, 60.0), adapt_scale(8, 90.0, 60.0), adapt_scale(4, 10.0, 60.0), adapt_scale(4, 30.0, 60.0)
    (2, 8, 2, 4)
    """
    if waited_s > target_s:
        return min(most, scale * 2)
    if waited_s < target_s / 4:
        return max(1, scale // 2)
    return scale


class Refresher:
    """Runs `ClusterRefresh` for each request off the event loop, then writes the knowledge table and
    sends the module and pairs; failures are retried or dead-lettered as the module docstring says."""

    def __init__(
        self,
        refresh: ClusterRefresh,
        knowledge_table,
        send: Send,
        metrics: Metrics,
        topic: str = "uno.cluster-refresh",
        max_attempts: int = 3,
        max_backoff_s: float = 15.0,  # a dependency back is used again within ~22 s (jitter: up to 1.5x)
        concurrency: int = 1,
        target_wait_s: float = 60.0,
        preview: bool = True,
        yield_llm: bool = True,
    ):
        self.refresh = refresh
        self.knowledge = TypedTable(knowledge_table, KnowledgeRecord)
        self.send = send
        self.metrics = metrics
        self.topic = topic
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        self.concurrency = concurrency
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="uno-refresh")
        self._locks: dict[str, list] = {}  # cluster key -> [its lock, requests holding or awaiting it]
        self.target_wait_s = target_wait_s
        self.preview = preview  # a cluster's first module before the LLM steps of its first refresh
        self.yield_llm = yield_llm  # LLM steps left to a later refresh while another request of the cluster waits
        self.scale = 1  # ingest asks for a refresh after refresh_min_logs * scale logs (`adapt_scale`)

    def evidence(self, namespace: str) -> list[dict]:
        """What stands behind each rule of this worker's clusters of ``namespace``: its users (pseudonyms),
        counts and statements, and ``held_back``: why the noise filter does not publish it (its reason:
        ``split``, ``fresh_only``, ``regulars_silent``...; None when it may be published). For operators
        (an admin route), never in a published module."""
        out = []
        for _, record in self.knowledge.items_with_prefix(f"{namespace}/"):
            for rule in record.knowledge.rules:
                out.append(
                    {"cluster_id": record.knowledge.cluster_id, "status": rule.status.value}
                    | {"held_back": self.refresh.noise.reason(rule)}
                    | msgspec.to_builtins(rule)
                )
        return out

    async def on_request(self, raw: bytes, partition: int = 0, offset: int = 0, msg_key: bytes | None = None) -> None:
        try:
            request = msgspec.msgpack.decode(raw, type=RefreshRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            k = msg_key.decode(errors="replace") if msg_key else ""
            return await self._dead_letter(raw, partition, offset, err, k, reason="malformed")
        k = key(request.namespace, request.cluster_id)
        entry = self._locks.setdefault(k, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                waited = max(0.0, time.time() - request.requested_at)
                self.metrics.refresh_queue_age.observe(waited)
                if request.logs:  # lifecycle requests carry no logs: not a measure of the queue
                    self.scale = adapt_scale(self.scale, waited, self.target_wait_s)
                    self.metrics.refresh_scale.set(self.scale)
                self.metrics.refresh_running.inc()
                try:
                    await self._handle(request, k, raw, partition, offset, waiting=lambda: entry[1] > 1)
                finally:
                    self.metrics.refresh_running.dec()
        finally:
            entry[1] -= 1
            if entry[1] == 0:  # nobody holds or awaits it: forget it (a waiter keeps it alive)
                del self._locks[k]

    async def _handle(
        self, request: RefreshRequest, k: str, raw: bytes, partition: int, offset: int, waiting=lambda: False
    ) -> None:
        """``waiting``: whether another request of the cluster waits for this one (read from the refresh's
        thread before each LLM call: with ``yield_llm``, the LLM steps left go to a later refresh)."""
        try:
            record = self.knowledge.get(k)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:  # a value this version cannot read
            return await self._dead_letter(raw, partition, offset, err, k)
        record = record or KnowledgeRecord(
            knowledge=ClusterKnowledge(namespace=request.namespace, cluster_id=request.cluster_id)
        )
        if request.batch_id in record.applied_batches:
            self.metrics.refreshes.labels("replayed").inc()
            return
        if request.reason in ("merged", "retired"):
            return await self._end(request, k, record)
        knowledge = record.knowledge
        if request.reason == "fold" and request.carried is not None:
            knowledge = self.refresh.themes.fold(knowledge, request.carried)
        elif self.preview and self.refresh.llm is not None and request.logs and not knowledge.module_version:
            await self._preview(request, k, knowledge)
        attempt = 0
        while True:
            attempt += 1
            start = time.perf_counter()
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._executor,
                    lambda: self.refresh.run(
                        knowledge,
                        request.snapshot,
                        request.logs,
                        request.reservoir,
                        force=request.reason == "fold",
                        batch_id=request.batch_id,
                        yield_llm=waiting if self.yield_llm else lambda: False,
                    ),
                )
                break
            except LLMError as err:
                self.metrics.refresh_failures.labels(f"llm_{err.reason}").inc()
                if err.reason != "transport" and attempt >= self.max_attempts:
                    return await self._dead_letter(raw, partition, offset, err, k)
                log.warning("refresh of %s failed (attempt %d): %s; retrying", k, attempt, err)
            except (EmbedderUnavailableError, StoreUnavailableError, ConnectionError, OSError, TimeoutError) as err:
                # the embedder (its process died, its endpoint is down) or the store is unreachable or
                # failing: retried, never dead-lettered
                dependency = "embedder" if isinstance(err, EmbedderUnavailableError) else "store"
                self.metrics.refresh_failures.labels(dependency).inc()
                log.warning("refresh of %s failed (attempt %d): %s; retrying", k, attempt, err)
            except Exception as err:  # a bug or a poison request: keep it, move on
                self.metrics.refresh_failures.labels("error").inc()
                log.exception("refresh of %s failed; sent to the dead-letter topic", k)
                return await self._dead_letter(raw, partition, offset, err, k)
            await asyncio.sleep(backoff_s(attempt + 1, 0.5, self.max_backoff_s))
        self.metrics.refresh_seconds.observe(time.perf_counter() - start)
        self.metrics.refreshes.labels(result.outcome).inc()
        for reason, n in result.rejected.items():
            self.metrics.rules_rejected.labels(reason).inc(n)
        for step, n in result.skipped.items():
            self.metrics.llm_skipped.labels(step).inc(n)
        if result.outcome == "withdrawn":  # withdrawn from the store by the refresh; a tombstone for a rebuild
            await self._durably("broker", self.send, "modules", k, None)
            self.metrics.modules_withdrawn.labels("no_rules").inc()
        if result.record is not None:
            module = result.record.module
            await self._durably("broker", self.send, "modules", k, encode(result.record))
            self.metrics.modules_published.labels(module.kind.value).inc()
            self.metrics.gap_score.observe(module.gap_score)
            if result.record.oldest_event_at is not None:
                self.metrics.freshness.observe(max(0.0, result.record.published_at - result.record.oldest_event_at))
        for pair in result.pairs:
            await self._durably("broker", self.send, "pairs", k, encode(pair))
            self.metrics.pairs.labels(pair.source.value).inc()
        self.metrics.pairs_refused.inc(result.pairs_refused)
        # Last: once the batch is recorded as applied, a replay skips it (so everything above is durable).
        done = KnowledgeRecord(
            knowledge=result.knowledge, applied_batches=[*record.applied_batches, request.batch_id][-256:]
        )
        await self._durably("state", self._write, self.knowledge.put, k, done)

    async def _preview(self, request: RefreshRequest, k: str, knowledge: ClusterKnowledge) -> None:
        """A cluster's first module from the users' own words (`ClusterRefresh.preview`), served while the
        LLM steps of its first refresh run (the first modules came ~25 s later with them on a small
        local model: docs/benchmarks.md). Only for a cluster with no module in its state or in the store:
        a replay after a crash does not publish it again, and the refresh that follows publishes the
        next version, with the LLM's steps, and records the batch. Best effort: if it fails, the refresh
        publishes as it always did."""
        store = self.refresh.store
        try:
            if await self._in_thread(store.get, request.namespace, request.cluster_id) is not None:
                return
            record = await self._in_thread(
                self.refresh.preview, knowledge, request.snapshot, request.logs, None, request.batch_id
            )
            if record is None or not (await self._in_thread(store.publish, record)).published:
                return
        except Exception as err:
            log.warning("preview of %s failed: %r; the refresh publishes without it", k, err)
            return
        await self._durably("broker", self.send, "modules", k, encode(record))
        self.metrics.modules_published.labels(record.module.kind.value).inc()
        self.metrics.module_previews.inc()

    async def _end(self, request: RefreshRequest, k: str, record: KnowledgeRecord) -> None:
        """A cluster merged away or retired: its knowledge goes to the survivor (merged), its module stops
        being served (a delete in the store and a tombstone on the compacted modules topic, so a rebuild
        gives the same store), and its state is dropped. Each step is idempotent, so a replay is harmless."""
        if request.reason == "merged" and request.into is not None and record.knowledge.themes:
            fold = RefreshRequest(
                namespace=request.namespace,
                cluster_id=request.into,
                batch_id=hashlib.sha1(f"{request.batch_id}/fold".encode()).hexdigest()[:24],
                reason="fold",
                snapshot=request.snapshot,
                carried=record.knowledge,
                logs=[],
                requested_at=request.requested_at,
            )
            into = key(request.namespace, request.into)
            await self._durably("broker", self.send, "refresh", into, msgspec.msgpack.encode(fold))
        withdraw = self.refresh.store.withdraw
        await self._durably("store", self._in_thread, withdraw, request.namespace, request.cluster_id)
        await self._durably("broker", self.send, "modules", k, None)
        await self._durably("state", self._write, self.knowledge.delete, k)
        self.metrics.modules_withdrawn.labels(request.reason).inc()
        self.metrics.refreshes.labels(request.reason).inc()  # a requested piece of refresh work, done

    async def _dead_letter(
        self, raw: bytes, partition: int, offset: int, err: Exception, k: str, reason: str = "refresh_failed"
    ) -> None:
        letter = DeadLetter(
            topic=self.topic,
            partition=partition,
            offset=offset,
            key=k.encode() or None,  # the cluster's key: a replay lands on the partition that holds its state
            original=raw,
            reason=reason,
            error=f"{type(err).__name__}: {err}"[:4_000],
            failed_at=time.time(),
        )
        await self._durably("broker", self.send, "dlq", k, encode(letter))
        self.metrics.dlq.labels(reason).inc()

    async def _in_thread(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _durably(self, dependency: str, step, *args):
        """``step`` until it succeeds: an output the broker (or the store) did not take is retried, never
        skipped, and the request stays unacknowledged meanwhile (an exception would lose it)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await step(*args)
            except Exception as err:
                self.metrics.refresh_failures.labels(dependency).inc()
                log.warning("refresh: the %s failed (attempt %d): %r; retrying", dependency, attempt, err)
                await asyncio.sleep(backoff_s(attempt + 1, 0.5, self.max_backoff_s))

    @staticmethod
    async def _write(step, *args) -> None:
        """A write of the local table, for `_durably`: RocksDB on a full disk refuses it ("No space left
        on device") until space comes back; escaping the agent, it lost the request."""
        step(*args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
