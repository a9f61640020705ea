"""The refresh side: RefreshRequest -> ClusterRefresh -> module published, pairs emitted.

Requests are keyed by ``namespace/cluster`` and consumed in order per partition, so at most one
refresh of a cluster runs at a time. The refresh itself (LLM calls, Qdrant) runs in one worker
thread so the event loop keeps heartbeating. Failures:

- transient (LLM transport error, Qdrant unreachable): retried with exponential backoff, without
  limit: the request, and the logs inside it, stay on the topic uncommitted until it succeeds;
- unparseable LLM output after the wrapper's own retries: retried ``max_attempts`` times, then the
  request goes to the dead-letter topic (logs included, replayable with ``uno dlq replay``);
- anything else: dead-lettered at once, with the error.

A request whose ``batch_id`` was already applied (a replay after a crash) is skipped, so support is
never counted twice; the knowledge table is written only after the module is in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import msgspec
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from processors.llm import LLMError
from processors.refresh import ClusterRefresh
from processors.retry import backoff_s
from processors.state import TypedTable, key
from streams.worker.ingest import Send
from streams.worker.metrics import Metrics
from uno_models import ClusterKnowledge, encode
from uno_models.stream import DeadLetter, KnowledgeRecord, RefreshRequest

log = logging.getLogger(__name__)


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
        max_backoff_s: float = 60.0,
    ):
        self.refresh = refresh
        self.knowledge = TypedTable(knowledge_table, KnowledgeRecord)
        self.send = send
        self.metrics = metrics
        self.topic = topic
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uno-refresh")

    async def on_request(self, raw: bytes, partition: int = 0, offset: int = 0) -> None:
        request = msgspec.msgpack.decode(raw, type=RefreshRequest)
        k = key(request.namespace, request.cluster_id)
        record = self.knowledge.get(k) or KnowledgeRecord(
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
        attempt = 0
        while True:
            attempt += 1
            start = time.perf_counter()
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._executor,
                    lambda: self.refresh.run(
                        knowledge, request.snapshot, request.logs, request.reservoir, force=request.reason == "fold"
                    ),
                )
                break
            except LLMError as err:
                self.metrics.refresh_failures.labels(f"llm_{err.reason}").inc()
                if err.reason != "transport" and attempt >= self.max_attempts:
                    return await self._dead_letter(raw, partition, offset, err)
                log.warning("refresh of %s failed (attempt %d): %s; retrying", k, attempt, err)
            except (ConnectionError, OSError, TimeoutError, ResponseHandlingException, UnexpectedResponse) as err:
                # the store is unreachable or failing
                self.metrics.refresh_failures.labels("store").inc()
                log.warning("refresh of %s failed (attempt %d): %s; retrying", k, attempt, err)
            except Exception as err:  # a bug or a poison request: keep it, move on
                self.metrics.refresh_failures.labels("error").inc()
                log.exception("refresh of %s failed; sent to the dead-letter topic", k)
                return await self._dead_letter(raw, partition, offset, err)
            await asyncio.sleep(backoff_s(attempt + 1, 0.5, self.max_backoff_s))
        self.metrics.refresh_seconds.observe(time.perf_counter() - start)
        self.metrics.refreshes.labels(result.outcome).inc()
        for reason, n in result.rejected.items():
            self.metrics.rules_rejected.labels(reason).inc(n)
        self.knowledge.put(
            k,
            KnowledgeRecord(
                knowledge=result.knowledge, applied_batches=[*record.applied_batches, request.batch_id][-256:]
            ),
        )
        if result.record is not None:
            module = result.record.module
            await self.send("modules", k, encode(result.record))
            self.metrics.modules_published.labels(module.kind.value).inc()
            self.metrics.gap_score.observe(module.gap_score)
            if result.record.oldest_event_at is not None:
                self.metrics.freshness.observe(max(0.0, result.record.published_at - result.record.oldest_event_at))
        for pair in result.pairs:
            await self.send("pairs", k, encode(pair))
            self.metrics.pairs.labels(pair.source.value).inc()

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
            await self.send("refresh", key(request.namespace, request.into), msgspec.msgpack.encode(fold))
        await asyncio.get_running_loop().run_in_executor(
            self._executor, self.refresh.store.withdraw, request.namespace, request.cluster_id
        )
        await self.send("modules", k, None)
        self.knowledge.delete(k)
        self.metrics.modules_withdrawn.labels(request.reason).inc()
        self.metrics.refreshes.labels(request.reason).inc()  # a requested piece of refresh work, done

    async def _dead_letter(self, raw: bytes, partition: int, offset: int, err: Exception) -> None:
        letter = DeadLetter(
            topic=self.topic,
            partition=partition,
            offset=offset,
            original=raw,
            reason="refresh_failed",
            error=f"{type(err).__name__}: {err}"[:4_000],
            failed_at=time.time(),
        )
        await self.send("dlq", "", encode(letter))
        self.metrics.dlq.labels("refresh_failed").inc()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
