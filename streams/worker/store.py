"""The worker's module store, and its rebuild from the compacted modules topic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from processors.store import ModuleStore
from uno_models import ModulePublished, Settings


def open_store(settings: Settings, embedder_id: str, dim: int) -> ModuleStore:
    """Qdrant local mode under ``data_dir`` by default, a Qdrant server when ``qdrant_url`` is set."""
    path = None if settings.qdrant_url else str(Path(settings.data_dir) / "qdrant")
    return ModuleStore(
        embedder_id,
        dim,
        path=path,
        url=settings.qdrant_url or None,
        api_key=settings.qdrant_api_key or None,
        collection=settings.qdrant_collection,
    )


def rebuild_store(
    settings: Settings, records: Iterable[ModulePublished], on_record: Callable[[], None] = lambda: None
) -> Counter:
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
