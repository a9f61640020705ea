"""The Faust app: topics, changelog-backed tables, two thin agents, a tick timer, and web views.

`build_worker` wires the processors to Kafka. The agents only decode the record's position and hand
the raw bytes to `Ingest` / `Refresher`; all logic lives there. Guarantees come from Faust's
at-least-once processing (offsets are committed after the producer, including table changelogs, is
flushed) plus idempotent effects: event ids are de-duplicated, refresh batches are applied once,
and the module store refuses versions it already has.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import faust

from processors.builder import WinRateVerifier
from processors.embedders import Embedder, make_embedder
from processors.llm import ChatLLM, UsageLedger
from processors.noise import NoiseFilter
from processors.pairs import PairBuilder
from processors.refresh import ClusterRefresh
from processors.retrieve import Retriever
from processors.store import ModuleStore
from streams.api import Api, web_options
from streams.endpoints import Endpoints
from streams.ingest import Ingest, Source, tick_bytes
from streams.metrics import Metrics
from streams.refresher import Refresher
from streams.topics import topic_specs
from uno_models import ModulePublished, Settings

log = logging.getLogger(__name__)


@dataclass
class Worker:
    app: faust.App
    settings: Settings
    metrics: Metrics
    store: ModuleStore
    ingest: Ingest
    refresher: Refresher


def open_store(settings: Settings, embedder_id: str, dim: int) -> ModuleStore:
    path = None if settings.qdrant_url else str(Path(settings.data_dir) / "qdrant")
    return ModuleStore(embedder_id, dim, path=path, url=settings.qdrant_url or None,
                       api_key=settings.qdrant_api_key or None, collection=settings.qdrant_collection)  # fmt: skip


def rebuild_store(settings: Settings, records: Iterable[ModulePublished],
                  on_record: Callable[[], None] = lambda: None) -> Counter:  # fmt: skip
    """Publish every record of the modules topic into the store again, oldest version first.

    The compacted modules topic is the source of truth; publishing is idempotent (a version the
    store has is skipped), so this restores a lost or stale store and is safe to repeat."""
    outcomes: Counter = Counter()
    stores: dict[tuple[str, int], ModuleStore] = {}
    try:
        for record in sorted(records, key=lambda r: (r.module.namespace, r.module.cluster_id, r.module.version)):
            space = (record.module.embedder_id, len(record.centroid))
            if space not in stores:
                stores[space] = open_store(settings, *space)
            outcomes["restored" if stores[space].publish(record).published else "already present"] += 1
            on_record()
    finally:
        for store in stores.values():
            store.close()
    return outcomes


def worker_identity(settings: Settings) -> str:
    """The worker's static group membership id: a restarted worker (same host and data dir, or the
    same configured id on a new machine) takes its partitions back at once, without a rebalance."""
    if settings.worker_id:
        return settings.worker_id
    digest = hashlib.sha1(str(Path(settings.data_dir).resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{digest}"


def build_worker(settings: Settings, endpoints: Endpoints, embedder: Embedder | None = None) -> Worker:
    s = settings
    metrics = Metrics()
    embedder = embedder or make_embedder(s)
    store = open_store(s, embedder.id, embedder.dim)
    llm = ChatLLM(endpoints.llm_base_url, s.llm_model, api_key=s.llm_api_key, json_mode=s.llm_json_mode,
                  timeout_s=s.llm_timeout_s, max_retries=s.llm_max_retries,
                  ledger=UsageLedger(metrics.observe_llm))  # fmt: skip
    refresh = ClusterRefresh(
        llm, embedder, store, gap_threshold=s.gap_threshold,
        noise=NoiseFilter(s.min_support, s.min_users, s.max_user_share),
        pairs=PairBuilder(llm, revisions_per_refresh=s.refresh_revisions),
        verifier=WinRateVerifier(llm) if s.win_rate_gate else None,
    )  # fmt: skip

    app = faust.App(
        s.app_id,
        broker=f"kafka://{endpoints.broker}",
        store="memory://",  # state lives in the changelog topics; a restart recovers it from them
        datadir=str(Path(s.data_dir) / "faust"),
        topic_partitions=s.topic_partitions,
        topic_replication_factor=s.topic_replication,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=worker_identity(s),
        broker_session_timeout=6.0,  # both local brokers finish a group join in half the session timeout
        broker_heartbeat_interval=1.0,
        producer_max_request_size=4_000_000,
        web_port=s.web_port,
        web_host=s.api_host,
        web_application_options=web_options(s),  # body size limit, JSON errors, bearer-token auth
        autodiscover=False,
    )
    specs = topic_specs(s)

    def topic(role: str) -> faust.TopicT:
        return app.topic(specs[role].name, key_serializer="raw", value_serializer="raw", internal=False)

    def table(name: str) -> faust.Table:
        # value_type=bytes matters as much as the schema: changelog recovery decodes with serializers
        # derived from the table's key/value types (json unless bytes), not the schema's; one value
        # that fails to decode there stops recovery for good.
        return app.Table(name, default=None, partitions=s.topic_partitions, key_type=str, value_type=bytes,
                         schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="raw"))  # fmt: skip

    outputs = {role: topic(role) for role in ("interactions", "feedback", "dlq", "refresh", "modules", "pairs", "ticks")}

    async def send(role: str, key: str, value: bytes, partition: int | None = None) -> None:
        await outputs[role].send(key=key.encode(), value=value, partition=partition)

    async def deliver(role: str, key: str, value: bytes) -> None:
        """Send and wait for the broker's acknowledgement: the API answers only once a record is durable."""
        await (await outputs[role].send(key=key.encode(), value=value))

    # All ingest state in one table: its changelog is one topic, so a record's writes stay in order
    # and a hard kill never leaves half of them (streams.state.State).
    ingest = Ingest(s, embedder, table("ingest"), deliver, metrics)
    refresher = Refresher(refresh, table("knowledge"), send, metrics, topic=specs["refresh"].name)
    names = {specs[r].name: r for r in ("interactions", "feedback", "ticks")}
    offsets: dict[tuple[str, int], int] = {}

    @app.agent(app.topic(*names, key_serializer="raw", value_serializer="raw"), name="uno-ingest")
    async def ingest_agent(stream):
        async for event in stream.events():
            msg = event.message
            role = names[msg.topic]
            source = Source(msg.topic, msg.partition, msg.offset, msg.key)
            if role == "interactions":
                await ingest.on_interaction(msg.value, source)
            elif role == "feedback":
                await ingest.on_feedback(msg.value, source)
            else:
                await ingest.on_tick(msg.value)
            offsets[(msg.topic, msg.partition)] = msg.offset

    @app.agent(outputs["refresh"], name="uno-refresh")
    async def refresh_agent(stream):
        async for event in stream.events():
            msg = event.message
            await refresher.on_request(msg.value, msg.partition, msg.offset)
            offsets[(msg.topic, msg.partition)] = msg.offset

    @app.timer(interval=s.tick_interval_s)
    async def tick() -> None:
        # Tables cannot be changed outside a stream, so time-based work is driven by a record per
        # namespace, sent to the partition the namespace lives on. Not while tables are recovering.
        if app.rebalancing or getattr(app, "in_recovery", False):
            return
        for ns, meta in list(ingest.namespaces.items_with_prefix("")):
            if meta.partition >= 0:
                await send("ticks", ns, tick_bytes(ns, time.time()), partition=meta.partition)

    @app.timer(interval=10.0)
    async def lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            last = offsets.get((tp.topic, tp.partition))
            try:
                end = consumer.highwater(tp)
            except Exception:  # not fetched yet
                continue
            if end is not None:
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, end - 1 - (last if last is not None else -1)))

    api = Api(s, metrics, store, Retriever(embedder, store, s.out_of_range_similarity), deliver, ingest.describe,
              upstream_base_url=endpoints.llm_base_url, topics={role: spec.name for role, spec in specs.items()})  # fmt: skip
    app.web.web_app.router.add_routes(api.routes())
    return Worker(app=app, settings=s, metrics=metrics, store=store, ingest=ingest, refresher=refresher)
