"""Preference pairs for offline DPO/LoRA training.

Corrections and edits give a pair directly, with no LLM call: the user's text is *chosen*, the
logged response *rejected*. For verbal feedback, a budgeted number of logs per refresh get one
revision (following the feedback and the cluster's rules) and one pairwise judgement against the
original; the pair is kept only if the revision wins. The reference code never checks that the
"chosen" answer is better. The judge sees the two answers in an order fixed by a hash of the log,
so position bias does not always favour the revision. A correction or edit that talks to the model
about its own instructions (`processors.noise.reads_as_injection`) gives no pair (it would teach a
model to follow it), and verbal feedback that does is not sent to be revised; both are counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal, NamedTuple

import msgspec

from processors.llm import LLM, LLMError, ask, fence
from processors.llm.prompts import ab_order
from processors.noise import reads_as_injection
from uno_models import FeedbackKind, LogRecord, PairSource, PreferencePair, Rule, RuleStatus

_DIRECT = {FeedbackKind.CORRECTION: PairSource.CORRECTION, FeedbackKind.EDIT: PairSource.EDIT}


class PairVerdict(msgspec.Struct):
    """The judge's answer: which of two answers is better."""

    better: Literal["A", "B"]


class PairsOutcome(NamedTuple):
    """The pairs of one refresh, and what building them cost."""

    pairs: list[PreferencePair]
    revisions_tried: int
    revisions_kept: int
    llm_calls: int
    failures: int  # revisions abandoned because the LLM failed (counted, never fatal)
    refused: int = 0  # corrections, edits and verbal feedback that read as prompt injection


class PairBuilder:
    """Preference pairs from a refresh's logs: corrections and edits directly, verbal feedback by one
    judged revision (at most ``revisions_per_refresh`` per refresh; none without an LLM).

    >>> from uno_models import Feedback, FeedbackKind, LogRecord
    >>> log = LogRecord(event_id="e1", namespace="legal", timestamp=0, query="Is theft a crime?", response="Maybe.",
    ...                 feedback=[Feedback(kind=FeedbackKind.CORRECTION, text="Yes: Article 264 of the Criminal Law.")])
    >>> outcome = PairBuilder(llm=None).build("legal", 0, [log], rules=[], now=0)
    >>> [(p.chosen, p.rejected, p.source.value) for p in outcome.pairs], outcome.llm_calls
    ([('Yes: Article 264 of the Criminal Law.', 'Maybe.', 'correction')], 0)
    """

    def __init__(self, llm: LLM | None, revisions_per_refresh: int = 1, tokens_per_field: int = 300):
        self.llm = llm
        self.revisions_per_refresh = revisions_per_refresh if llm is not None else 0
        self.tokens_per_field = tokens_per_field

    def build(
        self,
        namespace: str,
        cluster_id: int,
        logs: Sequence[LogRecord],
        rules: Sequence[Rule],
        now: float,
        revise: set[str] | None = None,
    ) -> PairsOutcome:
        """Pairs from ``logs``; a revision is tried only for logs in ``revise`` (event ids; None: any),
        following ``rules`` (rejected ones never reach the prompt)."""
        rules = [r for r in rules if r.status is not RuleStatus.REJECTED]
        pairs: list[PreferencePair] = []
        tried = kept = calls = failures = refused = 0
        for log in logs:
            direct = [fb for fb in log.feedback if fb.kind in _DIRECT and fb.text]
            for i, fb in enumerate(direct):
                if reads_as_injection(fb.text):
                    refused += 1
                    continue
                pairs.append(self._pair(namespace, cluster_id, log, fb.text, _DIRECT[fb.kind], now, i))
            verbal = [fb.text for fb in log.feedback if fb.kind is FeedbackKind.TEXT and fb.text]
            if direct or not verbal or not log.response or tried >= self.revisions_per_refresh:
                continue
            if revise is not None and log.event_id not in revise:
                continue
            if any(reads_as_injection(text) for text in verbal):
                refused += 1
                continue
            tried += 1
            try:
                revision, won, n = self._revise_and_judge(log, "\n".join(verbal), rules)
            except LLMError:
                failures += 1
                continue
            calls += n
            if won:
                kept += 1
                pairs.append(self._pair(namespace, cluster_id, log, revision, PairSource.REVISION, now, 0))
        return PairsOutcome(pairs, tried, kept, calls, failures, refused)

    def _revise_and_judge(self, log: LogRecord, feedback: str, rules: Sequence[Rule]) -> tuple[str, bool, int]:
        budget = self.tokens_per_field
        listed = "\n".join(f"- {r.text}" for r in rules) or "(none)"
        revision = self.llm.complete_text(
            "revise",
            ask(
                "revise",
                query=fence(log.query, budget),
                response=fence(log.response, budget),
                feedback=fence(feedback, budget),
                rules=fence(listed, budget),
            ),
        )
        a, b, revision_first = ab_order(log.event_id, revision, log.response)
        verdict = self.llm.complete_json(
            "judge",
            ask(
                "judge_pair",
                query=fence(log.query, budget),
                feedback=fence(feedback, budget),
                a=fence(a, budget),
                b=fence(b, budget),
            ),
            PairVerdict,
            max_tokens=16,
        )
        return revision, (verdict.better == "A") == revision_first, 2

    @staticmethod
    def _pair(
        namespace: str, cluster_id: int, log: LogRecord, chosen: str, source: PairSource, now: float, index: int
    ) -> PreferencePair:
        pid = hashlib.sha1(f"{log.event_id}/{source.value}/{index}".encode()).hexdigest()[:20]
        return PreferencePair(
            id=pid,
            namespace=namespace,
            cluster_id=cluster_id,
            prompt=log.query,
            chosen=chosen,
            rejected=log.response,
            source=source,
            event_id=log.event_id,
            created_at=now,
            provenance=[log.provenance] if log.provenance else [],
        )
