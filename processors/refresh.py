"""One cluster refresh: redact -> prior -> distill -> gap -> pairs -> filter -> build -> (verify) -> publish.

`ClusterRefresh` is what the streaming app's refresh agent and a batch replay both call. It takes
the cluster's knowledge and snapshot plus the new logs, and returns a *new* knowledge object, the
published record (if any), the preference pairs, and what it cost. Nothing is mutated in place: if
any step raises (LLM outage after retries, Qdrant down), the caller still holds the old knowledge,
keeps the logs pending and retries later; no half-built module is ever published, because the
module is complete before the single `ModuleStore.publish` call.

LLM calls per refresh (defaults): 1 prior call when the cluster has moved, 1 distill call per 8
verbal logs, 1 judge call per new rule, 2 per revised pair (at most 2 revisions), and 3 per
held-out log when the win-rate gate is on.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import msgspec
import numpy as np

from processors.builder import ModuleBuilder, WinRateVerifier, rank_rules
from processors.distill import Distiller, copy_knowledge
from processors.embedders import Embedder
from processors.gap import GapEstimator
from processors.llm import LLM
from processors.noise import NoiseFilter
from processors.pairs import PairBuilder
from processors.pii import redact_log
from processors.store import ModuleStore, PublishResult
from uno_models import ClusterKnowledge, ClusterSnapshot, LogRecord, ModuleKind, ModulePublished, PreferencePair, Rule


class RefreshResult(NamedTuple):
    """What one refresh produced: the new knowledge (commit it only on success), the module record if
    one was published, the pairs, the rejected rules by reason, and the LLM calls it cost."""

    knowledge: ClusterKnowledge
    record: ModulePublished | None
    publish: PublishResult | None
    outcome: str  # published, unchanged, no_publishable_rules, kept_previous (win-rate gate)
    pairs: list[PreferencePair]
    rejected: Counter  # rules not published, by reason
    llm_calls: int
    win_rate: float | None


class ClusterRefresh:
    """One cluster refresh over new logs; see the module docstring for the steps.

    Parameters
    ----------
    llm, embedder, store
        The chat model, the embedder of the cluster's vector space, and the module store.
    gap_threshold
        Mean novelty at or above which the module is reflective (0.45, the paper's default).
    noise, distiller, builder, pairs, verifier
        The steps, replaceable; ``verifier`` (the win-rate gate) is off when None.

    Example (needs an LLM server, so not a doctest)::

        store = ModuleStore(embedder.id, embedder.dim)
        refresh = ClusterRefresh(ChatLLM(url, "smollm2-135m-instruct"), embedder, store)
        result = refresh.run(ClusterKnowledge(namespace="legal", cluster_id=0), snapshot, logs)
        result.outcome, result.record            # "published", the ModulePublished sent to uno.modules"""

    def __init__(
        self,
        llm: LLM,
        embedder: Embedder,
        store: ModuleStore,
        *,
        gap_threshold: float = 0.45,
        noise: NoiseFilter | None = None,
        distiller: Distiller | None = None,
        builder: ModuleBuilder | None = None,
        pairs: PairBuilder | None = None,
        verifier: WinRateVerifier | None = None,
        prior_moved_below: float = 0.98,
    ):
        self.embedder = embedder
        self.store = store
        self.gap_threshold = gap_threshold
        self.distiller = distiller or Distiller(llm, embedder)
        self.gap = GapEstimator(llm, embedder, gap_threshold)
        self.noise = noise or NoiseFilter()
        self.builder = builder or ModuleBuilder()
        self.pairs = pairs or PairBuilder(llm)
        self.verifier = verifier
        self.prior_moved_below = prior_moved_below

    def run(
        self,
        knowledge: ClusterKnowledge,
        snapshot: ClusterSnapshot,
        logs: Sequence[LogRecord],
        reservoir: Sequence[LogRecord] = (),
        now: float | None = None,
    ) -> RefreshResult:
        now = time.time() if now is None else now
        logs = [redact_log(log) for log in logs]  # nothing unredacted reaches a prompt or a rule
        calls = 0
        if self._prior_is_stale(knowledge, snapshot):
            typical = _typical_query(self.embedder, snapshot, [*logs, *reservoir])
            priors = self.distiller.prior(typical)
            calls += 1
            knowledge = _reset_novelty(
                msgspec.structs.replace(knowledge, priors=priors, prior_centroid=list(snapshot.query_centroid))
            )
        distilled = self.distiller.distill(knowledge, logs, now)
        calls += distilled.llm_calls
        knowledge, judge_calls = self.gap.update(distilled.knowledge, distilled.log_rules)
        calls += judge_calls
        pairs = self.pairs.build(knowledge.namespace, knowledge.cluster_id, logs, knowledge.rules, now)
        calls += pairs.llm_calls
        published, rejected = self.noise.apply(knowledge.rules)
        knowledge = msgspec.structs.replace(knowledge, refreshes=knowledge.refreshes + 1)

        def result(outcome: str, record=None, publish=None, win_rate=None) -> RefreshResult:
            return RefreshResult(knowledge, record, publish, outcome, pairs.pairs, rejected, calls, win_rate)

        if not published:
            return result("no_publishable_rules")
        kind = GapEstimator.kind_for(knowledge.gap_score or 0.0, self.gap_threshold)
        # "Unchanged" is decided from the cluster's own (changelog-backed) state, not from the store:
        # a worker that took the partition over with an empty local store must decide the same way.
        digest = module_digest(kind, rank_rules(published))
        if knowledge.module_version and knowledge.module_digest == digest:
            return result("unchanged")
        previous = self.store.get(knowledge.namespace, knowledge.cluster_id)
        if previous is not None:  # a rollback publishes versions the cluster's state has not seen
            knowledge = msgspec.structs.replace(
                knowledge, module_version=max(knowledge.module_version, previous.version)
            )
        module = self.builder.build(knowledge, snapshot, published, kind, now)
        win_rate = None
        if self.verifier is not None and reservoir:
            win_rate, verify_calls = self.verifier.win_rate(module, reservoir)
            calls += verify_calls
            if previous is not None and not self.verifier.passes(win_rate):
                return result("kept_previous", win_rate=win_rate)
        oldest = min((log.timestamp for log in logs), default=None)
        record = ModulePublished(
            module=module, centroid=list(snapshot.query_centroid), published_at=now, oldest_event_at=oldest
        )
        publish = self.store.publish(record)
        knowledge = msgspec.structs.replace(knowledge, module_version=publish.version, module_digest=digest)
        return result("published", record, publish, win_rate)

    def _prior_is_stale(self, knowledge: ClusterKnowledge, snapshot: ClusterSnapshot) -> bool:
        if not knowledge.priors or len(knowledge.prior_centroid) != len(snapshot.query_centroid):
            return True
        a, b = np.asarray(knowledge.prior_centroid), np.asarray(snapshot.query_centroid)
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))
        return cos < self.prior_moved_below


def _typical_query(embedder: Embedder, snapshot: ClusterSnapshot, logs: Sequence[LogRecord]) -> str:
    """The log query closest to the cluster's query centroid."""
    if len(logs) <= 1:
        return logs[0].query if logs else ""
    vectors = embedder.embed([log.query for log in logs])
    return logs[int(np.argmax(vectors @ np.asarray(snapshot.query_centroid, dtype=np.float32)))].query


def _reset_novelty(knowledge: ClusterKnowledge) -> ClusterKnowledge:
    """Novelty is relative to the priors: new priors mean every rule is judged again."""
    knowledge = copy_knowledge(knowledge)
    for rule in knowledge.rules:
        rule.novelty = None
    return knowledge


def module_digest(kind: ModuleKind, rules: Sequence[Rule]) -> str:
    text = "\n".join([kind.value, *(rule.text for rule in rules)])
    return hashlib.sha1(text.encode()).hexdigest()
