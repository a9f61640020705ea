"""One cluster refresh: redact -> prior -> themes -> filter -> rephrase -> gap -> pairs -> build -> (verify) -> publish.

`ClusterRefresh` is what the streaming app's refresh agent and a batch replay both call. It takes
the cluster's knowledge and snapshot plus the new logs, and returns a *new* knowledge object, the
published record (if any), the preference pairs, and what it cost. Nothing is mutated in place: if
any step raises (LLM outage after retries, Qdrant down), the caller still holds the old knowledge,
keeps the logs pending and retries later; no half-built module is ever published, because the
module is complete before the single `ModuleStore.publish` call.

Rules come from the users' own words (`processors.themes`), filtered (`processors.noise`). An LLM,
when one is configured, is called about once per *new rule*, never per log: 1 prior call when the
cluster's centre has moved, 1 rephrasing per new publishable rule (kept only if faithful,
`processors.rephrase`), 1 gap judgement per new rule, and 2 for a revised preference pair from a
log behind a newly published rule (at most ``revisions_per_refresh``); 3 per held-out log when the
win-rate gate is on. A failed LLM step does not fail the refresh: it is counted in
``RefreshResult.skipped`` and tried again at the next refresh.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

import msgspec
import numpy as np

from processors.builder import ModuleBuilder, WinRateVerifier, rank_rules
from processors.clustering import route_threshold
from processors.embedders import Embedder
from processors.gap import GapEstimator
from processors.llm import LLM, LLMError
from processors.noise import NoiseFilter
from processors.pairs import PairBuilder
from processors.pii import redact_log
from processors.rephrase import Rephraser
from processors.store import ModuleStore, PublishResult
from processors.themes import ThemeBook
from uno_models import (
    ClusterKnowledge,
    ClusterSnapshot,
    ExperienceModule,
    LogRecord,
    ModuleKind,
    ModulePublished,
    PreferencePair,
    Rule,
    RuleStatus,
)


class RefreshResult(NamedTuple):
    """What one refresh produced: the new knowledge (commit it only on success), the module record if
    one was published, the pairs, the rejected rules by reason, and the LLM calls it cost."""

    knowledge: ClusterKnowledge
    record: ModulePublished | None
    publish: PublishResult | None
    outcome: str  # published, unchanged, no_publishable_rules, withdrawn, kept_previous (win-rate gate)
    pairs: list[PreferencePair]
    rejected: Counter  # rules not published, by reason
    llm_calls: int
    win_rate: float | None
    skipped: Counter  # LLM steps that failed and wait for a later refresh, by step
    pairs_refused: int = 0  # feedback that read as prompt injection, kept out of the pairs


class ClusterRefresh:
    """One cluster refresh over new logs; see the module docstring for the steps.

    Parameters
    ----------
    llm, embedder, store
        The chat model, the embedder of the cluster's vector space, and the module store.
    gap_threshold
        Mean novelty at or above which the module is reflective (0.45, the paper's default).
    noise, themes, rephraser, builder, pairs, verifier
        The steps, replaceable; ``verifier`` (the win-rate gate) is off when None, ``rephraser``
        defaults to one on ``llm`` (none without an LLM).
    prior_moved_below
        The prior is asked again when the cluster's query centre has moved below this cosine.

    With ``llm=None`` the refresh is extractive end to end: rules in the users' words, no prior,
    so no gap (primary modules), pairs from corrections and edits only.

    >>> from processors.embedders.hashing import HashingEmbedder
    >>> from uno_models import ClusterSnapshot, Feedback, FeedbackKind
    >>> embedder = HashingEmbedder(256)
    >>> refresh = ClusterRefresh(None, embedder, ModuleStore(embedder.id, embedder.dim),
    ...                          noise=NoiseFilter(min_support=2, min_users=2, min_reliable_users=1.0))
    >>> logs = [LogRecord(event_id=f"e{i}", namespace="legal", timestamp=i, user_id=f"u{i % 2}", query="q",
    ...                   feedback=[Feedback(kind=FeedbackKind.TEXT, text="Cite the statute article.")])
    ...         for i in range(4)] + [LogRecord(event_id=f"t{i}", namespace="legal", timestamp=9, user_id=f"u{i}",
    ...                                         query="q", feedback=[Feedback(kind=FeedbackKind.THUMBS, value=1)])
    ...                               for i in range(2)]
    >>> snapshot = ClusterSnapshot(namespace="legal", cluster_id=0, embedder_id=embedder.id,
    ...                            centroid=[1.0] * 256, query_centroid=[1.0] * 256)
    >>> result = refresh.run(ClusterKnowledge(namespace="legal", cluster_id=0), snapshot, logs, now=10.0)
    >>> result.outcome, result.llm_calls, result.record.module.kind.value
    ('published', 0, 'primary')
    >>> [r.text for r in result.record.module.rules]
    ['Cite the statute article.']
    """

    def __init__(
        self,
        llm: LLM | None,
        embedder: Embedder,
        store: ModuleStore,
        *,
        gap_threshold: float = 0.45,
        noise: NoiseFilter | None = None,
        themes: ThemeBook | None = None,
        rephraser: Rephraser | None = None,
        builder: ModuleBuilder | None = None,
        pairs: PairBuilder | None = None,
        verifier: WinRateVerifier | None = None,
        prior_moved_below: float = 0.8,
    ):
        self.llm = llm
        self.embedder = embedder
        self.store = store
        self.gap_threshold = gap_threshold
        self.themes = themes or ThemeBook(embedder)
        self.rephraser = rephraser or (Rephraser(llm, embedder) if llm is not None else None)
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
        force: bool = False,
        batch_id: str | None = None,
        yield_llm: Callable[[], bool] = lambda: False,
    ) -> RefreshResult:
        """Refresh the cluster with new logs; ``force`` publishes a new version even if the rules did not
        change (after a merge the cluster's centre, which serving routes on, did). ``batch_id``: the
        refresh request's, noted on the published record. ``yield_llm`` is asked before each LLM call
        (another request of the cluster waiting, say): once it says so, the LLM steps left (rephrasing
        a rule, the prior, judging a rule) are left to a later refresh, which tries them again, and the
        refresh publishes the users' words it has, counted in ``skipped["deferred"]``."""
        now = time.time() if now is None else now
        stopped = [False]

        def stop() -> bool:
            stopped[0] = stopped[0] or yield_llm()
            return stopped[0]

        logs = [redact_log(log) for log in logs]  # nothing unredacted reaches a prompt or a rule
        calls = 0
        skipped: Counter = Counter()  # LLM steps that failed and were left for a later refresh
        themed = self.themes.update(knowledge, logs, now)
        knowledge = themed.knowledge
        was_published = {r.id for r in knowledge.rules if r.status is RuleStatus.PUBLISHED}
        published, rejected = self.noise.apply(knowledge.rules)
        if self.rephraser is not None and published:
            n, worded = self.rephraser.rephrase(knowledge, {r.id for r in published}, stop)
            calls += n
            skipped["rephrase"] += worded["llm_failed"]
            self.themes.relabel(knowledge)
            published, rejected = self.noise.apply(knowledge.rules)
        if self.llm is not None and published and self._prior_is_stale(knowledge, snapshot) and not stop():
            # the gap's reference, asked only once the cluster has rules to judge against it
            calls += 1
            try:
                priors = self.gap.prior(_typical_query(self.embedder, snapshot, [*logs, *reservoir]))
            except LLMError:
                skipped["prior"] += 1
            else:
                centroid = list(snapshot.query_centroid)
                knowledge = msgspec.structs.replace(knowledge, priors=priors, prior_centroid=centroid)
                for rule in knowledge.rules:  # novelty is relative to the priors: judge again
                    rule.novelty = None
        ids = {r.id for r in published}
        on_published = {e: [t for t in tids if t in ids] for e, tids in themed.log_rules.items()}
        try:
            knowledge, judge_calls = self.gap.update(knowledge, {e: t for e, t in on_published.items() if t}, stop)
            calls += judge_calls
        except LLMError:
            skipped["judge"] += 1
        new = ids - was_published
        revise = {e for e, tids in on_published.items() if set(tids) & new}
        if revise and self.pairs.revisions_per_refresh and stop():
            revise = set()
        pairs = self.pairs.build(knowledge.namespace, knowledge.cluster_id, logs, published, now, revise=revise)
        calls += pairs.llm_calls
        skipped["deferred"] += int(stopped[0] and self.llm is not None)
        knowledge = msgspec.structs.replace(knowledge, refreshes=knowledge.refreshes + 1)

        def result(outcome: str, record=None, publish=None, win_rate=None) -> RefreshResult:
            return RefreshResult(
                knowledge, record, publish, outcome, pairs.pairs, rejected, calls, win_rate, skipped, pairs.refused
            )

        if not published:
            if knowledge.module_digest:  # its module's rules no longer pass (contradicted, split...): not served
                self.store.withdraw(knowledge.namespace, knowledge.cluster_id)
                knowledge = msgspec.structs.replace(knowledge, module_digest="")
                return result("withdrawn")
            return result("no_publishable_rules")
        kind = self._kind(knowledge)
        # "Unchanged" is decided from the cluster's own (changelog-backed) state, not from the store:
        # a worker that took the partition over with an empty local store must decide the same way.
        digest = module_digest(kind, rank_rules(published), _routing(snapshot, self.builder.route))
        if knowledge.module_version and knowledge.module_digest == digest and not force:
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
        record = _published(module, snapshot, logs, now, batch_id)
        publish = self.store.publish(record)
        knowledge = msgspec.structs.replace(knowledge, module_version=publish.version, module_digest=digest)
        return result("published", record, publish, win_rate)

    def preview(
        self,
        knowledge: ClusterKnowledge,
        snapshot: ClusterSnapshot,
        logs: Sequence[LogRecord],
        now: float | None = None,
        batch_id: str | None = None,
    ) -> ModulePublished | None:
        """The module the users' own words give for ``logs``, before any LLM step: what a cluster with no
        module yet can serve while the LLM steps of its first refresh run. Nothing is kept (``knowledge``
        is not changed; `run` applies the same logs); None when no rule passes the filters. The gap is
        not judged yet, so the kind is the one the cluster's gap score so far gives."""
        now = time.time() if now is None else now
        logs = [redact_log(log) for log in logs]
        knowledge = self.themes.update(knowledge, logs, now).knowledge
        published, _ = self.noise.apply(knowledge.rules)
        if not published:
            return None
        kind = self._kind(knowledge)
        module = self.builder.build(knowledge, snapshot, published, kind, now)
        return _published(module, snapshot, logs, now, batch_id)

    def _kind(self, knowledge: ClusterKnowledge) -> ModuleKind:
        """The module kind the cluster's gap score so far gives (primary until a gap is measured)."""
        return GapEstimator.kind_for(knowledge.gap_score or 0.0, self.gap_threshold)

    def _prior_is_stale(self, knowledge: ClusterKnowledge, snapshot: ClusterSnapshot) -> bool:
        if len(knowledge.prior_centroid) != len(snapshot.query_centroid):
            return True
        a, b = np.asarray(knowledge.prior_centroid), np.asarray(snapshot.query_centroid)
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))
        return cos < self.prior_moved_below


def _published(
    module: ExperienceModule, snapshot: ClusterSnapshot, logs: Sequence[LogRecord], now: float, batch_id: str | None
) -> ModulePublished:
    oldest = min((log.timestamp for log in logs), default=None)
    return ModulePublished(
        module=module,
        centroid=list(snapshot.query_centroid),
        published_at=now,
        oldest_event_at=oldest,
        batch_id=batch_id,
    )


def _typical_query(embedder: Embedder, snapshot: ClusterSnapshot, logs: Sequence[LogRecord]) -> str:
    """The log query closest to the cluster's query centroid."""
    if len(logs) <= 1:
        return logs[0].query if logs else ""
    vectors = embedder.embed([log.query for log in logs])
    return logs[int(np.argmax(vectors @ np.asarray(snapshot.query_centroid, dtype=np.float32)))].query


def module_digest(kind: ModuleKind, rules: Sequence[Rule], routing: str = "") -> str:
    """What a module says: its kind and its ranked rules, ids with texts (when two themes merge, the
    survivor's text may be the one the other had, under another id, which a module must carry), and
    where it is served (``routing``, `_routing`)."""
    text = "\n".join([kind.value, routing, *(f"{rule.id} {rule.text}" for rule in rules)])
    return hashlib.sha1(text.encode()).hexdigest()


def _routing(snapshot: ClusterSnapshot, route: dict) -> str:
    """The module's routing, coarsely: its own threshold in steps of 0.05 (none while the cluster has too
    few members) and its size to the power of two. A cluster that grows or spreads gets its module
    published again with its current centre and threshold, although its rules did not change: else the
    module keeps routing by the few members it was first published with."""
    threshold = route_threshold(snapshot, **route)
    step = "-" if threshold is None else str(round(threshold / 0.05))
    return f"route {step} size {snapshot.logs.bit_length()}"
