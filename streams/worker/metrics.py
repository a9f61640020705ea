"""Prometheus metrics of a worker, in one registry, named by Prometheus conventions (``uno_*``).

`Metrics` is also the `processors.ingest.IngestObserver` of the worker's ingest core."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from processors.llm import CallRecord

LATENCY = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
FRESHNESS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class Metrics:
    """Every metric a worker exports; ``exposition()`` is the ``/metrics`` body."""

    def __init__(self, registry: CollectorRegistry | None = None):
        r = self.registry = registry or CollectorRegistry()
        self.events = Counter(
            "uno_events_total",
            "Events consumed, by kind and result (ok, invalid, duplicate, no_signal, joined, orphaned, too_late)",
            ["kind", "result"],
            registry=r,
        )
        self.dlq = Counter("uno_dlq_total", "Records sent to the dead-letter topic, by reason", ["reason"], registry=r)
        self.active_clusters = Gauge("uno_clusters", "Active clusters, by namespace", ["namespace"], registry=r)
        self.embed_seconds = Histogram(
            "uno_embed_seconds", "Embedding latency of one call (a batch of texts)", buckets=LATENCY, registry=r
        )
        self.embedded = Counter("uno_embedded_texts_total", "Texts embedded by ingest", registry=r)
        self.ingest_batch = Histogram(
            "uno_ingest_batch_records",
            "Records per ingest batch",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.send_failures = Counter(
            "uno_send_failures_total",
            "Records queued (not awaited) that the broker did not take",
            ["role"],
            registry=r,
        )
        self.spool_records = Counter(
            "uno_spool_records_total",
            "Proxy interactions the broker did not take in time: spooled, replayed from the spool, or dropped "
            "(spool full)",
            ["result"],
            registry=r,
        )
        self.spool_pending = Gauge("uno_spool_pending", "Records waiting in the local spool for the broker", registry=r)
        self.spool_bytes = Gauge("uno_spool_bytes", "Bytes of the records waiting in the local spool", registry=r)
        self.refresh_queue_age = Histogram(
            "uno_refresh_queue_seconds",
            "How long a refresh request waited between its request and its start",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.refresh_scale = Gauge(
            "uno_refresh_batch_scale",
            "Refreshes wait for refresh_min_logs times this (grows while they queue)",
            registry=r,
        )
        self.refresh_running = Gauge("uno_refreshes_running", "Refreshes running now in this worker", registry=r)
        self.agent_crashes = Counter(
            "uno_agent_crashes_total", "Agents that raised (restarted by Faust); should stay 0", ["agent"], registry=r
        )
        self.loop_lag = Histogram(
            "uno_event_loop_lag_seconds",
            "How late the worker's event loop (HTTP API, heartbeats, agents) runs a 0.1 s timer",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.ingest_retries = Counter(
            "uno_ingest_retries_total", "Ingest steps retried because a dependency failed", ["dependency"], registry=r
        )
        self.ingest_blocked = Gauge(
            "uno_ingest_blocked",
            "1 while ingest waits for a failing dependency (records kept)",
            ["dependency"],
            registry=r,
        )
        self.assign_seconds = Histogram(
            "uno_assign_seconds", "Cluster assignment latency per event", buckets=LATENCY, registry=r
        )
        self.refresh_seconds = Histogram(
            "uno_refresh_seconds", "Cluster refresh latency (all steps)", buckets=LATENCY, registry=r
        )
        self.publish_seconds = Histogram(
            "uno_publish_seconds", "Module store upsert latency", buckets=LATENCY, registry=r
        )
        self.refresh_requests = Counter(
            "uno_refresh_requests_total", "Refreshes requested, by trigger", ["reason"], registry=r
        )
        self.refreshes = Counter("uno_refreshes_total", "Refreshes finished, by outcome", ["outcome"], registry=r)
        self.refresh_failures = Counter(
            "uno_refresh_failures_total", "Refresh attempts that failed, by reason", ["reason"], registry=r
        )
        self.llm_skipped = Counter(
            "uno_llm_steps_skipped_total",
            "LLM steps of a refresh that failed (LLM down), or were deferred while another request of the cluster"
            " waited, and wait for the cluster's next refresh, by step",
            ["step"],
            registry=r,
        )
        self.llm_requests = Counter(
            "uno_llm_requests_total", "LLM requests, by purpose and outcome", ["purpose", "outcome"], registry=r
        )
        self.llm_tokens = Counter(
            "uno_llm_tokens_total", "LLM tokens, by purpose and direction", ["purpose", "direction"], registry=r
        )
        self.llm_seconds = Histogram(
            "uno_llm_request_seconds", "LLM request latency, by purpose", ["purpose"], buckets=LATENCY, registry=r
        )
        self.gap_score = Histogram(
            "uno_gap_score",
            "Cluster gap score at each published module",
            buckets=(0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            registry=r,
        )
        self.modules_published = Counter(
            "uno_modules_published_total", "Modules published, by kind", ["kind"], registry=r
        )
        self.module_previews = Counter(
            "uno_module_previews_total",
            "First modules of clusters published from the users' words before the LLM steps of their first refresh",
            registry=r,
        )
        self.modules_withdrawn = Counter(
            "uno_modules_withdrawn_total",
            "Modules no longer served, by reason (merged into another cluster, retired, no rule passing now)",
            ["reason"],
            registry=r,
        )
        self.rules_rejected = Counter(
            "uno_rules_rejected_total", "Rules held back by the noise filter, by reason", ["reason"], registry=r
        )
        self.pairs = Counter(
            "uno_preference_pairs_total", "Preference pairs emitted, by source", ["source"], registry=r
        )
        self.pairs_refused = Counter(
            "uno_preference_pairs_refused_total",
            "Corrections, edits and verbal feedback kept out of preference pairs (they read as prompt injection)",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "uno_consumer_lag",
            "Records behind the partition's end, by topic and partition",
            ["topic", "partition"],
            registry=r,
        )
        self.consumer_rewinds = Counter(
            "uno_consumer_rewinds_total",
            "Partitions read again from their committed offset: records fetched but never handed to an agent",
            ["topic"],
            registry=r,
        )
        self.freshness = Histogram(
            "uno_event_to_module_seconds",
            "From the oldest log of a refresh to its module",
            buckets=FRESHNESS,
            registry=r,
        )
        self.expired_feedback = Counter(
            "uno_feedback_expired_total",
            "Late feedback dropped: its interaction never arrived within the TTL",
            registry=r,
        )

        self.ingest_state_keys = Gauge(
            "uno_state_keys",
            "Keys in this worker's ingest state table (logs kept for late "
            "feedback, de-duplication ids, clusters, work, expiry ledgers; every 10 s; RocksDB: its estimate)",
            registry=r,
        )
        self.rocksdb_memory = Gauge(
            "uno_rocksdb_memory_bytes",
            "RocksDB's memory for all of the worker's tables (store = rocksdb): the shared block cache's use "
            "(memtables included, charged to it) and the memtables' part; both stay under rocksdb_cache_mib",
            ["part"],
            registry=r,
        )
        self.embedder_restarts = Gauge(
            "uno_embedder_restarts",
            "Times the worker's embedder process was started again after it died or hung (USE-m3 runs in a child)",
            registry=r,
        )
        self.store_reload_failures = Gauge(
            "uno_store_reload_failures",
            "Reloads of a namespace's modules from the Qdrant server that failed (retrieval kept the copy it had)",
            registry=r,
        )
        self.refresh_backlog = Gauge(
            "uno_refresh_backlog_seconds",
            "Age of the oldest log waiting for a refresh, by namespace (updated on each tick)",
            ["namespace"],
            registry=r,
        )
        self.retrieve_seconds = Histogram(
            "uno_retrieve_seconds", "Module retrieval latency (embed + search)", buckets=LATENCY, registry=r
        )
        self.retrievals = Counter(
            "uno_retrievals_total",
            "Retrievals, by result (hit, out_of_range, no_modules, unavailable)",
            ["result"],
            registry=r,
        )
        self.proxy_seconds = Histogram(
            "uno_proxy_seconds",
            "Chat proxy latency, by stage (retrieve, upstream, emit, total)",
            ["stage"],
            buckets=LATENCY,
            registry=r,
        )
        self.upstream_errors = Counter(
            "uno_upstream_errors_total", "Chat proxy upstream failures, by reason", ["reason"], registry=r
        )

    def embed_batch(self, texts: int, seconds: float) -> None:
        self.embed_seconds.observe(seconds)
        self.embedded.inc(texts)

    # --- processors.ingest.IngestObserver

    def counted(self, kind: str, result: str, n: int = 1) -> None:
        self.events.labels(kind, result).inc(n)

    def timed(self, stage: str, seconds: float) -> None:
        (self.embed_seconds if stage == "embed" else self.assign_seconds).observe(seconds)

    def refresh_requested(self, reason: str) -> None:
        self.refresh_requests.labels(reason).inc()

    def clusters(self, namespace: str, active: int) -> None:
        self.active_clusters.labels(namespace).set(active)

    def backlog(self, namespace: str, oldest_pending_s: float) -> None:
        self.refresh_backlog.labels(namespace).set(oldest_pending_s)

    def feedback_expired(self, n: int) -> None:
        self.expired_feedback.inc(n)

    def state_keys(self, n: int) -> None:
        self.ingest_state_keys.set(n)

    def observe_llm(self, rec: CallRecord) -> None:
        """`UsageLedger` observer: every LLM request becomes metrics."""
        self.llm_requests.labels(rec.purpose, rec.outcome).inc()
        self.llm_tokens.labels(rec.purpose, "prompt").inc(rec.prompt_tokens)
        self.llm_tokens.labels(rec.purpose, "completion").inc(rec.completion_tokens)
        self.llm_seconds.labels(rec.purpose).observe(rec.latency_s)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
