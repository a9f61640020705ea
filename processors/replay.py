"""The worker's pipeline in one process, over dicts: for benchmarks, tuning and batch replays.

`BatchReplay` feeds events to the same `Ingest` the worker runs and hands every refresh request it
produces to the same `ClusterRefresh`, in order, keeping each cluster's knowledge as the refresh
agent would. There is no broker and no thread: what it measures is the logic, not the plumbing.

>>> from processors.embedders.hashing import HashingEmbedder
>>> from processors.refresh import ClusterRefresh
>>> from processors.store import ModuleStore
>>> from uno_models import Settings, decode_interaction
>>> embedder = HashingEmbedder(64)
>>> replay = BatchReplay(Settings(refresh_min_logs=50), embedder,
...                      ClusterRefresh(None, embedder, ModuleStore(embedder.id, embedder.dim)))
>>> replay.interaction(decode_interaction(b'{"event_id": "e1", "timestamp": 1.0, "query": "hi", "response": "",'
...                                       b' "feedback": [{"kind": "text", "text": "Be brief."}]}'))
>>> replay.flush()
>>> dict(replay.outcomes)
{'no_publishable_rules': 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, MutableMapping

from processors.embedders import Embedder
from processors.ingest import Ingest
from processors.refresh import ClusterRefresh
from uno_models import ClusterKnowledge, FeedbackEvent, InteractionEvent, Provenance, Settings


class BatchReplay:
    """Ingest and refresh in one process; ``knowledge`` holds each cluster's state by (namespace, id).
    Ingest's state is a dict unless ``table`` gives another mapping of ``str`` to ``bytes``."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        refresh: ClusterRefresh,
        topic: str = "replay",
        table: MutableMapping | None = None,
    ):
        self.settings = settings
        self.refresh = refresh
        self.topic = topic
        self.now = 0.0
        self.ingest = Ingest(settings, embedder, {} if table is None else table, clock=lambda: self.now)
        self.knowledge: dict[tuple[str, int], ClusterKnowledge] = {}
        self.outcomes: Counter = Counter()
        self.batch_sizes: list[int] = []
        self.offset = 0
        self.on_refresh: Callable[[object], None] = lambda result: None

    def interaction(self, event: InteractionEvent) -> None:
        self.now = max(self.now, event.timestamp)
        self._apply(event.namespace, lambda source: self.ingest.interaction(event, source))

    def feedback(self, event: FeedbackEvent) -> None:
        fallback = f"{event.event_id}/{self.offset}"
        self._apply(event.namespace, lambda source: self.ingest.feedback(event, source, fallback))

    def flush(self) -> None:
        """What the age trigger does once every pending log is old enough: refresh what is pending."""
        self.now += 2 * self.settings.refresh_max_age_s
        for namespace, _ in list(self.ingest.namespaces.items_with_prefix("")):
            with self.ingest.txn(namespace):
                self.ingest.tick(namespace)
                self._run_refreshes()

    def _apply(self, namespace: str, step) -> None:
        source = Provenance(self.topic, 0, self.offset, self.offset)
        self.offset += 1
        with self.ingest.txn(namespace):
            step(source)
            self._run_refreshes()

    def _run_refreshes(self) -> None:
        for _, request in self.ingest.take_outbox():
            key = (request.namespace, request.cluster_id)
            knowledge = self.knowledge.get(key) or ClusterKnowledge(namespace=key[0], cluster_id=key[1])
            force = False
            if request.reason in ("merged", "retired"):  # as the refresh agent does: hand over, withdraw
                self.knowledge.pop(key, None)
                self.refresh.store.withdraw(*key)
                self.outcomes[request.reason] += 1
                if request.reason == "retired" or request.into is None or not knowledge.themes:
                    continue
                into = (request.namespace, request.into)
                survivor = self.knowledge.get(into) or ClusterKnowledge(namespace=into[0], cluster_id=into[1])
                key, knowledge, force = into, self.refresh.themes.fold(survivor, knowledge), True
            result = self.refresh.run(
                knowledge, request.snapshot, request.logs, request.reservoir, now=self.now, force=force
            )
            self.knowledge[key] = result.knowledge
            self.outcomes[result.outcome] += 1
            self.batch_sizes.append(len(request.logs))
            self.on_refresh(result)
