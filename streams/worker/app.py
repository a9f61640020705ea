"""The Faust app: topics, changelog-backed tables, two thin agents, a tick timer, and the web routes.

`build_worker` wires the processors to Kafka. The agents only note the record's position and hand
the raw bytes to `IngestHandler` / `Refresher`; the logic lives in `processors`. Guarantees come
from Faust's at-least-once processing (offsets are committed after the producer, including table
changelogs, is flushed) plus idempotent effects: event ids are de-duplicated, refresh batches are
applied once, and the module store refuses versions it already has.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import faust
import msgspec

from processors.builder import ModuleBuilder, WinRateVerifier
from processors.embedders import Embedder, make_embedder
from processors.llm import ChatLLM, UsageLedger
from processors.noise import NoiseFilter
from processors.pairs import PairBuilder
from processors.refresh import ClusterRefresh
from processors.rephrase import Rephraser
from processors.retrieve import Retriever
from processors.store import ModuleStore
from processors.themes import ThemeBook
from streams.kafka import topic_specs
from streams.serving.api import Api
from streams.serving.http import web_options
from streams.worker.ingest import IngestHandler, Source, tick_bytes
from streams.worker.metrics import Metrics
from streams.worker.refresher import Refresher
from streams.worker.store import open_store
from uno_models import Settings

log = logging.getLogger(__name__)

INPUTS = ("interactions", "feedback", "ticks")  # co-partitioned, keyed by namespace: one ingest agent
OUTPUTS = ("interactions", "feedback", "dlq", "refresh", "modules", "pairs", "ticks")


class Endpoints(msgspec.Struct, frozen=True):
    """Where the worker's dependencies are."""

    broker: str  # Kafka bootstrap servers
    llm_base_url: str = ""  # OpenAI-compatible base URL, ending in /v1; "" = no LLM (extractive rules)

    @property
    def rules_mode(self) -> str:
        """How rules are worded: ``extractive`` (the users' words) or ``extractive+llm`` (faithful rephrasing)."""
        return "extractive+llm" if self.llm_base_url else "extractive"


@dataclass
class Worker:
    """A built (not yet started) worker: the Faust app and the parts a runner must close."""

    app: faust.App
    settings: Settings
    metrics: Metrics
    store: ModuleStore
    ingest: IngestHandler
    refresher: Refresher


def worker_identity(settings: Settings) -> str:
    """The worker's static group membership id: a restarted worker (same host and data dir, or the
    same configured id on a new machine) takes its partitions back at once, without a rebalance."""
    if settings.worker_id:
        return settings.worker_id
    digest = hashlib.sha1(str(Path(settings.data_dir).resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{digest}"


def make_app(s: Settings, broker: str) -> faust.App:
    return faust.App(
        s.app_id,
        broker=f"kafka://{broker}",
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


def make_refresh(s: Settings, llm_base_url: str, embedder: Embedder, store: ModuleStore, metrics: Metrics):
    """The refresh pipeline; without an LLM endpoint it is extractive (no prior, rephrasing or revisions)."""
    llm = None
    if llm_base_url:
        llm = ChatLLM(
            llm_base_url,
            s.llm_model,
            api_key=s.llm_api_key,
            json_mode=s.llm_json_mode,
            timeout_s=s.llm_timeout_s,
            max_retries=s.llm_max_retries,
            ledger=UsageLedger(metrics.observe_llm),
        )
    noise = NoiseFilter(
        s.min_support,
        s.min_users,
        s.max_user_share,
        max_against_share=s.max_against_share,
        min_reliable_users=s.min_reliable_users,
        independent_quorum=s.independent_quorum,
    )
    return ClusterRefresh(
        llm,
        embedder,
        store,
        gap_threshold=s.gap_threshold,
        noise=noise,
        themes=ThemeBook(embedder, similarity=s.theme_similarity, merge_similarity=s.theme_merge_similarity),
        rephraser=Rephraser(llm, embedder, min_similarity=s.rephrase_similarity) if llm is not None else None,
        pairs=PairBuilder(llm, revisions_per_refresh=s.refresh_revisions),
        builder=ModuleBuilder(route_z=s.route_z, route_floor=s.route_floor, route_min_members=s.route_min_members),
        verifier=WinRateVerifier(llm) if s.win_rate_gate and llm is not None else None,
    )


def table(app: faust.App, s: Settings, name: str) -> faust.Table:
    # value_type=bytes matters as much as the schema: changelog recovery decodes with serializers
    # derived from the table's key/value types (json unless bytes), not the schema's; one value
    # that fails to decode there stops recovery for good.
    schema = faust.Schema(key_type=str, key_serializer="json", value_serializer="raw")
    return app.Table(name, default=None, partitions=s.topic_partitions, key_type=str, value_type=bytes, schema=schema)


def build_worker(settings: Settings, endpoints: Endpoints, embedder: Embedder | None = None) -> Worker:
    s = settings
    metrics = Metrics()
    embedder = embedder or make_embedder(s)
    store = open_store(s, embedder.id, embedder.dim)
    app = make_app(s, endpoints.broker)
    specs = topic_specs(s)
    outputs = {
        role: app.topic(specs[role].name, key_serializer="raw", value_serializer="raw", internal=False)
        for role in OUTPUTS
    }

    async def send(role: str, key: str, value: bytes, partition: int | None = None) -> None:
        await outputs[role].send(key=key.encode(), value=value, partition=partition)

    async def deliver(role: str, key: str, value: bytes) -> None:
        """Send and wait for the broker's acknowledgement: the API answers only once a record is durable."""
        await (await outputs[role].send(key=key.encode(), value=value))

    # All ingest state in one table: its changelog is one topic, so a record's writes stay in order
    # and a hard kill never leaves half of them (processors.state.State).
    ingest = IngestHandler(s, embedder, table(app, s, "ingest"), deliver, metrics)
    refresh = make_refresh(s, endpoints.llm_base_url, embedder, store, metrics)
    log.info(
        "rules: %s%s", endpoints.rules_mode, f" ({s.llm_model} at {endpoints.llm_base_url})" if refresh.llm else ""
    )
    refresher = Refresher(refresh, table(app, s, "knowledge"), send, metrics, topic=specs["refresh"].name)
    offsets: dict[tuple[str, int], int] = {}
    add_agents(app, {specs[r].name: r for r in INPUTS}, outputs["refresh"], ingest, refresher, offsets)
    add_timers(app, s, ingest, send, metrics, offsets)

    retriever = Retriever(embedder, store, s.out_of_range_similarity)
    topics = {role: spec.name for role, spec in specs.items()}
    describe = ingest.core.describe
    api = Api(s, metrics, store, retriever, deliver, describe, endpoints.llm_base_url, topics, endpoints.rules_mode)
    app.web.web_app.router.add_routes(api.routes())
    return Worker(app=app, settings=s, metrics=metrics, store=store, ingest=ingest, refresher=refresher)


def add_agents(
    app: faust.App, inputs: dict[str, str], refresh_topic, ingest: IngestHandler, refresher: Refresher, offsets: dict
) -> None:
    """The two agents; each notes the last offset it handled per partition (for the lag gauge)."""

    @app.agent(app.topic(*inputs, key_serializer="raw", value_serializer="raw"), name="uno-ingest")
    async def ingest_agent(stream):
        async for event in stream.events():
            msg = event.message
            role = inputs[msg.topic]
            if role == "interactions":
                await ingest.on_interaction(msg.value, Source(msg.topic, msg.partition, msg.offset, msg.key))
            elif role == "feedback":
                await ingest.on_feedback(msg.value, Source(msg.topic, msg.partition, msg.offset, msg.key))
            else:
                await ingest.on_tick(msg.value)
            offsets[(msg.topic, msg.partition)] = msg.offset

    @app.agent(refresh_topic, name="uno-refresh")
    async def refresh_agent(stream):
        async for event in stream.events():
            msg = event.message
            await refresher.on_request(msg.value, msg.partition, msg.offset)
            offsets[(msg.topic, msg.partition)] = msg.offset


def add_timers(app: faust.App, s: Settings, ingest: IngestHandler, send, metrics: Metrics, offsets: dict) -> None:
    """Ticks (time-based work, driven through the stream) and the consumer-lag gauge."""

    @app.timer(interval=s.tick_interval_s)
    async def tick() -> None:
        # Tables cannot be changed outside a stream, so time-based work is driven by a record per
        # namespace, sent to the partition the namespace lives on. Not while tables are recovering.
        if app.rebalancing or getattr(app, "in_recovery", False):
            return
        for ns, meta in list(ingest.core.namespaces.items_with_prefix("")):
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
                behind = max(0, end - 1 - (last if last is not None else -1))
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(behind)
