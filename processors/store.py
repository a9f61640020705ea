"""The module store on Qdrant: current modules for retrieval, every version kept for history and rollback.

One collection holds the current module of each (namespace, cluster): point id derived from the
pair, vector = the cluster's query-space centroid, payload = the module, with ``namespace`` as the
(tenant-indexed, on a server) filter field. A second collection keeps every version ever published.
Both collection names carry the embedder id: a different embedder means a different vector space,
so it gets new collections (rebuilt from the modules topic), never a silent mix.

Publishing is idempotent: re-publishing a version that is already current is a no-op, and an older
version than the current one is refused as stale. A module is written to history first, then made
current, so a crash in between leaves the previous version current and a retry completes it.

Qdrant local mode (``path``) has the server's API but allows one process per path: the worker owns
the store; other processes go through the worker's HTTP API or a Qdrant server (``url``).

Retrieval does not query Qdrant: `search` reads an in-memory copy of each namespace's current
centroids (`ModuleIndex`: one float32 matrix per namespace, replaced whole on every change, so a
reader never waits for a writer and never sees half a change). Module counts per namespace are
small (hundreds to tens of thousands), so an exact matrix product takes milliseconds. This store's
own writes update it at once; with a Qdrant server, where other workers publish too, a namespace's
copy is also reloaded from the server when it is older than ``index_max_age_s``, in the background:
a server that is slow or down leaves readers on the copy they have.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import msgspec
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from uno_models import ExperienceModule, ModulePublished

log = logging.getLogger(__name__)
_NS = uuid.UUID("6f1b8a52-8c1e-4d47-9a57-0c2f3e8a9b10")


class PublishResult(NamedTuple):
    """What a publish did: whether it wrote, the version now current, and why not when it did not."""

    published: bool
    version: int  # the version current after the call
    reason: str  # "published", "same_version" or "stale"


class StoreUnavailableError(RuntimeError):
    """Qdrant could not be read or written: a server unreachable or failing, or local mode's files
    (a full disk: SQLite's "database or disk is full"). The caller retries; nothing was half-written
    (local mode persists a point before it applies it; `publish` writes history before current)."""


# What a store's storage raises when it is unavailable, as against a bug or a bad argument.
_UNAVAILABLE = (sqlite3.Error, OSError, ResponseHandlingException, UnexpectedResponse)


def _locked(method):
    """Qdrant local mode is one in-process engine: serialise calls (the refresh thread writes while
    web views read). Storage failures come out as `StoreUnavailableError`."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            try:
                if not self._ready:  # a server that was down when the store was made
                    self._prepare()
                return method(self, *args, **kwargs)
            except _UNAVAILABLE as err:
                raise StoreUnavailableError(f"module store: {type(err).__name__}: {err}") from err

    return wrapper


class ModuleIndex:
    """Exact cosine search over each namespace's current modules, in memory.

    Copy-on-write: a change builds the namespace's new arrays and swaps one dict entry, so `search`
    takes no lock (a reader holds the arrays it started with).

    >>> from uno_models import ExperienceModule, ModuleKind
    >>> index = ModuleIndex(2)
    >>> module = ExperienceModule(namespace="n", cluster_id=3, version=1, kind=ModuleKind.PRIMARY, gap_score=0.5,
    ...                           embedder_id="e", created_at=0)
    >>> index.put(module, [1.0, 0.0])
    >>> [(m.cluster_id, round(s, 2)) for m, s in index.search("n", np.array([0.6, 0.8], dtype=np.float32), 1)]
    [(3, 0.6)]
    """

    def __init__(self, dim: int):
        self.dim = dim
        self._spaces: dict[str, tuple[np.ndarray, tuple[ExperienceModule, ...]]] = {}
        self.loaded_at: dict[str, float] = {}

    def replace(self, namespace: str, entries: list[tuple[ExperienceModule, list[float] | np.ndarray]]) -> None:
        """The namespace's whole content (a load from the store)."""
        entries = sorted(entries, key=lambda e: e[0].cluster_id)
        matrix = np.array([_unit32(v) for _, v in entries], dtype=np.float32).reshape(len(entries), self.dim)
        self._spaces[namespace] = (matrix, tuple(m for m, _ in entries))

    def put(self, module: ExperienceModule, vector: list[float] | np.ndarray) -> None:
        self.remove(module.namespace, module.cluster_id)
        matrix, modules = self._spaces[module.namespace]
        self._spaces[module.namespace] = (np.vstack([matrix, _unit32(vector)[None, :]]), (*modules, module))

    def remove(self, namespace: str, cluster_id: int) -> None:
        matrix, modules = self._spaces.get(namespace, (np.zeros((0, self.dim), np.float32), ()))
        keep = [i for i, m in enumerate(modules) if m.cluster_id != cluster_id]
        self._spaces[namespace] = (matrix[keep], tuple(modules[i] for i in keep))

    def search(self, namespace: str, vector: np.ndarray, k: int) -> list[tuple[ExperienceModule, float]]:
        matrix, modules = self._spaces.get(namespace, (None, ()))
        if not modules:
            return []
        sims = matrix @ _unit32(vector)
        k = min(k, len(modules))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(modules) else np.arange(len(modules))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(modules[i], float(sims[i])) for i in top]

    def __contains__(self, namespace: str) -> bool:
        return namespace in self._spaces


class ModuleStore:
    """The current module per (namespace, cluster) and every version, in Qdrant; see the module docstring.

    >>> from uno_models import ExperienceModule, ModuleKind, ModulePublished
    >>> store = ModuleStore("demo-3", 3)                      # Qdrant local mode, in memory
    >>> module = ExperienceModule(namespace="legal", cluster_id=0, version=1, kind=ModuleKind.PRIMARY, gap_score=0.2,
    ...                           guidance="- Cite the statute article.", embedder_id="demo-3", created_at=0)
    >>> store.publish(ModulePublished(module=module, centroid=[1.0, 0.0, 0.0], published_at=0)).reason
    'published'
    >>> [(m.cluster_id, round(s, 2)) for m, s in store.search("legal", [0.9, 0.1, 0.0])]
    [(0, 0.99)]
    >>> store.search("other", [0.9, 0.1, 0.0])               # never another namespace's modules
    []
    """

    def __init__(
        self,
        embedder_id: str,
        dim: int,
        path: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        collection: str = "uno_modules",
        index_max_age_s: float = 5.0,
    ):
        if url:
            self._client = QdrantClient(url=url, api_key=api_key or None)
        else:
            self._client = QdrantClient(path=path) if path else QdrantClient(location=":memory:")
        self.local = not url
        self._lock = threading.RLock()
        self.embedder_id = embedder_id
        self.dim = dim
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", embedder_id)
        self.current = f"{collection}__{slug}"
        self.versions = f"{collection}__{slug}__history"
        self._ready = False
        try:
            self._prepare()
        except _UNAVAILABLE as err:
            if self.local:  # local mode's own files: nothing to wait for
                raise
            # A server down at start delays refreshes and serving, not the worker: the first call that
            # needs the store makes the collections, and fails (retried by its caller) until it can.
            log.warning("module store: the Qdrant server is unavailable (%s); retrying at first use", err)
        self.index = ModuleIndex(dim)
        self.index_max_age_s = index_max_age_s
        self.reloading: set[str] = set()  # namespaces whose copy is being reloaded from the server
        self.reload_failures = 0
        self._reloads_lock = threading.Lock()
        self._reloader: ThreadPoolExecutor | None = None  # started with the first background reload
        if self.local:  # the only writer: loaded once, then kept current by this store's own writes
            for namespace, entries in self._load(None).items():
                self.index.replace(namespace, entries)

    # ------------------------------------------------------------------ writing

    @_locked
    def publish(self, record: ModulePublished) -> PublishResult:
        module = record.module
        if module.embedder_id != self.embedder_id:
            raise ValueError(f"module embedded with {module.embedder_id!r}, store holds {self.embedder_id!r}")
        if len(record.centroid) != self.dim:
            raise ValueError(f"centroid has {len(record.centroid)} dimensions, the store expects {self.dim}")
        current = self.get(module.namespace, module.cluster_id)
        if current is not None and current.version == module.version:
            return PublishResult(False, current.version, "same_version")
        if current is not None and current.version > module.version:
            return PublishResult(False, current.version, "stale")
        vector = _unit(record.centroid)
        payload = _payload(module)
        self._client.upsert(
            self.versions,
            points=[
                models.PointStruct(
                    id=_point_id(module.namespace, module.cluster_id, module.version), vector=vector, payload=payload
                )
            ],
        )
        self._client.upsert(
            self.current,
            points=[
                models.PointStruct(id=_point_id(module.namespace, module.cluster_id), vector=vector, payload=payload)
            ],
        )
        self.index.put(module, vector)
        return PublishResult(True, module.version, "published")

    @_locked
    def withdraw(self, namespace: str, cluster_id: int) -> bool:
        """Stop serving a cluster's module (merged away, retired, or no rule of it passes now); its history stays.
        True if it was served."""
        served = self.get(namespace, cluster_id) is not None
        if served:
            self._client.delete(
                self.current, points_selector=models.PointIdsList(points=[_point_id(namespace, cluster_id)])
            )
        self.index.remove(namespace, cluster_id)
        return served

    @_locked
    def rollback(self, namespace: str, cluster_id: int, version: int, now: float) -> ModulePublished:
        """Make the content of an earlier version current again, as a new version (versions only grow).

        Returns the record published, for the caller to append to the modules topic too."""
        points = self._client.retrieve(
            self.versions, ids=[_point_id(namespace, cluster_id, version)], with_payload=True, with_vectors=True
        )
        if not points:
            raise KeyError(f"{namespace}/{cluster_id} has no version {version}")
        latest = self.history(namespace, cluster_id)[-1].version
        old = _module(points[0].payload)
        restored = msgspec.structs.replace(old, version=latest + 1, created_at=now)
        record = ModulePublished(module=restored, centroid=list(points[0].vector), published_at=now)
        self.publish(record)
        return record

    # ------------------------------------------------------------------ reading

    @_locked
    def get(self, namespace: str, cluster_id: int) -> ExperienceModule | None:
        points = self._client.retrieve(self.current, ids=[_point_id(namespace, cluster_id)], with_payload=True)
        return _module(points[0].payload) if points else None

    @_locked
    def list(self, namespace: str | None = None, limit: int = 10_000) -> list[ExperienceModule]:
        points, _ = self._client.scroll(self.current, scroll_filter=_only(namespace), limit=limit, with_payload=True)
        return sorted((_module(p.payload) for p in points), key=lambda m: (m.namespace, m.cluster_id))

    @_locked
    def history(self, namespace: str, cluster_id: int) -> list[ExperienceModule]:
        flt = models.Filter(must=[_match("namespace", namespace), _match("cluster_id", cluster_id)])
        points, _ = self._client.scroll(self.versions, scroll_filter=flt, limit=10_000, with_payload=True)
        return sorted((_module(p.payload) for p in points), key=lambda m: m.version)

    def search(
        self, namespace: str, vector: np.ndarray | list[float], k: int = 1
    ) -> list[tuple[ExperienceModule, float]]:
        """The k modules of ``namespace`` nearest to ``vector`` (cosine), best first. Never another namespace's.

        From the in-memory index (no lock, no Qdrant call). With a Qdrant server, a namespace's copy
        older than ``index_max_age_s`` is reloaded in the background while readers keep the copy they
        have: a slow, hung or stopped server delays no request, and a failed reload keeps the copy
        (logged, counted in ``reload_failures``, tried again after ``index_max_age_s``). A namespace
        never loaded is loaded here, as there is nothing to serve before; if that fails, the caller
        gets `StoreUnavailableError`."""
        if not self.local:
            loaded = self.index.loaded_at.get(namespace)
            if loaded is None:
                self._reload(namespace)
            elif time.monotonic() - loaded > self.index_max_age_s:
                self._reload_in_background(namespace)
        return self.index.search(namespace, np.asarray(vector, dtype=np.float32), k)

    @_locked
    def count(self, namespace: str | None = None) -> int:
        return self._client.count(self.current, count_filter=_only(namespace)).count

    def close(self) -> None:
        if self._reloader is not None:
            self._reloader.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._client.close()

    # ------------------------------------------------------------------ internals

    @_locked
    def _reload(self, namespace: str) -> None:
        self.index.replace(namespace, self._load(namespace).get(namespace, []))
        self.index.loaded_at[namespace] = time.monotonic()

    def _reload_in_background(self, namespace: str) -> None:
        with self._reloads_lock:
            if namespace in self.reloading:
                return
            self.reloading.add(namespace)
            if self._reloader is None:
                self._reloader = ThreadPoolExecutor(1, thread_name_prefix="qdrant-reload")
        self._reloader.submit(self._reload_quietly, namespace)

    def _reload_quietly(self, namespace: str) -> None:
        try:
            self._reload(namespace)
        except StoreUnavailableError as err:
            self.reload_failures += 1
            self.index.loaded_at[namespace] = time.monotonic()  # keep the copy; try again after the max age
            log.warning("module store: %s's copy kept, its reload failed: %s", namespace, str(err)[:300])
        finally:
            with self._reloads_lock:
                self.reloading.discard(namespace)

    def _load(self, namespace: str | None) -> dict[str, list[tuple[ExperienceModule, list[float]]]]:
        """Every current module (of ``namespace``) with its vector, by namespace."""
        out: dict[str, list] = {}
        offset = None
        while True:
            points, offset = self._client.scroll(
                self.current,
                scroll_filter=_only(namespace),
                limit=1_000,
                offset=offset,
                with_payload=True,
                with_vectors=True,
            )
            for p in points:
                module = _module(p.payload)
                out.setdefault(module.namespace, []).append((module, p.vector))
            if offset is None:
                return out

    def _prepare(self) -> None:
        for name in (self.current, self.versions):
            self._ensure(name)
        self._ready = True

    def _ensure(self, name: str) -> None:
        if self._client.collection_exists(name):
            return
        self._client.create_collection(
            name, vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
        )
        if not self.local:  # payload indexes exist on a server only; local mode warns and ignores them
            self._client.create_payload_index(
                name, "namespace", models.KeywordIndexParams(type="keyword", is_tenant=True)
            )
            self._client.create_payload_index(name, "cluster_id", models.PayloadSchemaType.INTEGER)


def _point_id(namespace: str, cluster_id: int, version: int | None = None) -> str:
    key = f"{namespace}/{cluster_id}" if version is None else f"{namespace}/{cluster_id}/{version}"
    return str(uuid.uuid5(_NS, key))


def _payload(module: ExperienceModule) -> dict:
    return {
        "namespace": module.namespace,
        "cluster_id": module.cluster_id,
        "version": module.version,
        "kind": module.kind.value,
        "module": msgspec.to_builtins(module),
    }


def _module(payload: dict) -> ExperienceModule:
    return msgspec.convert(payload["module"], ExperienceModule)


def _match(key: str, value) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _only(namespace: str | None) -> models.Filter | None:
    return None if namespace is None else models.Filter(must=[_match("namespace", namespace)])


def _unit32(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _unit(vector) -> list[float]:
    v = np.asarray(vector, dtype=np.float64)
    n = np.linalg.norm(v)
    return (v / n if n > 0 else v).tolist()
