"""The ingest agent's handler: raw records from the three co-partitioned inputs -> `processors.ingest.Ingest`.

What is left here is what needs the stream: decoding a record's bytes (a bad one goes to the
dead-letter topic with the reason), checking that its key is its namespace (state is partitioned by
namespace), and sending the refresh requests the record produced, acknowledged by the broker,
before its state changes are written. The domain logic (de-duplication, the late-feedback join,
clustering, reservoirs, refresh triggers, TTLs) lives in `processors.ingest`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import NamedTuple

import msgspec

from processors.embedders import Embedder
from processors.ingest import Ingest
from streams.worker.metrics import Metrics
from uno_models import ContractError, Provenance, Settings, decode_feedback, decode_interaction, encode
from uno_models.stream import DeadLetter, Tick

Send = Callable[[str, str, bytes], Awaitable[None]]  # (topic role, key, value)


class Source(NamedTuple):
    """Where a record was read: topic, partition, offset, and its key."""

    topic: str
    partition: int
    offset: int
    key: bytes | None

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.topic, self.partition, self.offset, self.offset)


class IngestHandler:
    """Feeds decoded records to `Ingest` inside one state transaction each.

    ``table``: the ingest side's state (a Faust table in the worker); ``send`` must return once the
    broker has acknowledged the record (a refresh request is durable before the work it takes).
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        table: MutableMapping,
        send: Send,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ):
        self.send = send
        self.metrics = metrics
        self.core = Ingest(settings, embedder, table, observer=metrics, clock=clock)

    async def on_interaction(self, raw: bytes, source: Source) -> None:
        event = await self._decode(raw, source, decode_interaction, "interaction")
        if event is not None:
            with self.core.txn(event.namespace):
                self.core.interaction(event, source.provenance)
                await self._send_refreshes()

    async def on_feedback(self, raw: bytes, source: Source) -> None:
        fe = await self._decode(raw, source, decode_feedback, "feedback")
        if fe is not None:
            with self.core.txn(fe.namespace):
                self.core.feedback(fe, source.provenance, fallback_id=hashlib.sha1(raw).hexdigest()[:24])
                await self._send_refreshes()

    async def on_tick(self, raw: bytes) -> None:
        tick = msgspec.msgpack.decode(raw, type=Tick)
        with self.core.txn(tick.namespace):
            self.core.tick(tick.namespace)
            await self._send_refreshes()

    async def _send_refreshes(self) -> None:
        for k, request in self.core.take_outbox():
            await self.send("refresh", k, msgspec.msgpack.encode(request))

    async def _decode(self, raw: bytes, source: Source, decoder, kind: str):
        """The decoded record, or None (dead-lettered and counted) if it is invalid or wrongly keyed."""
        try:
            event = decoder(raw)
        except ContractError as err:
            await self._dead_letter(raw, source, err, kind)
            return None
        # State is partitioned by namespace: an event keyed otherwise would split a namespace's state.
        if source.key is None or source.key.decode(errors="replace") != event.namespace:
            err = ContractError(
                "$.namespace", f"the record key must be the namespace ({event.namespace!r}), got {source.key!r}"
            )
            await self._dead_letter(raw, source, err, kind, reason="key_mismatch")
            return None
        return event

    async def _dead_letter(
        self, raw: bytes, source: Source, err: ContractError, kind: str, reason: str | None = None
    ) -> None:
        reason = reason or dlq_reason(err)
        letter = DeadLetter(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            key=source.key,
            original=raw,
            reason=reason,
            path=err.path[:256],
            error=err.reason[:4_000],
            failed_at=self.core.clock(),
        )
        await self.send("dlq", source.key.decode(errors="replace") if source.key else "", encode(letter))
        self.metrics.dlq.labels(reason).inc()
        self.metrics.events.labels(kind, "invalid").inc()


def dlq_reason(err: ContractError) -> str:
    """A small, fixed set of reasons for metrics: malformed bytes, oversized fields, other violations."""
    if err.path == "$" and ("malformed" in err.reason or "truncated" in err.reason):
        return "malformed"
    if "length <=" in err.reason:
        return "too_large"
    return "invalid"


def tick_bytes(namespace: str, at: float) -> bytes:
    return msgspec.msgpack.encode(Tick(namespace=namespace, at=at))
