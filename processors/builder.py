"""Building a module from a cluster's published rules, and the optional win-rate gate.

Primary (low gap): the rules as guidance, highest support first, within a character budget.
Reflective (high gap): the rules as a critique checklist. `WinRateVerifier` answers held-out logs
of the cluster with and without the new module, asks an LLM judge which is better (order fixed by
a hash, ties count half, answers more than ``max_length_ratio`` times longer or shorter lose), and
keeps the previous version unless the new one wins at least ``threshold`` (0.53, as in the paper).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import msgspec

from processors.apply import module_messages
from processors.clustering import route_threshold
from processors.llm import LLM, LLMError, fence
from processors.llm.prompts import ab_order, clip
from uno_models import ClusterKnowledge, ClusterSnapshot, ExperienceModule, LogRecord, ModuleKind, Rule, SupportStats
from uno_models.knowledge import MAX_PROVENANCE
from uno_models.modules import MAX_CHECKLIST


def rank_rules(rules: Sequence[Rule]) -> list[Rule]:
    """Highest support first, then most users; ties by id, so the order is deterministic."""
    return sorted(rules, key=lambda r: (-r.support, -r.distinct_users, r.id))


class ModuleBuilder:
    """Renders a cluster's published rules into a module: guidance for a primary, a checklist for a
    reflective one, with support statistics and provenance.

    >>> from uno_models import ClusterKnowledge, ClusterSnapshot, ModuleKind, Rule
    >>> rules = [Rule(id="r0", text="Cite the statute article.", support=3, user_support={"u1": 2, "u2": 1})]
    >>> snapshot = ClusterSnapshot(namespace="legal", cluster_id=0, embedder_id="e", centroid=[1.0],
    ...                            query_centroid=[1.0])
    >>> module = ModuleBuilder().build(ClusterKnowledge(namespace="legal", cluster_id=0), snapshot, rules,
    ...                                ModuleKind.PRIMARY, now=0)
    >>> module.version, module.guidance, module.support.users
    (1, '- Cite the statute article.', 2)
    """

    def __init__(
        self,
        guidance_chars: int = 1_200,
        max_checklist: int = 12,
        route_z: float = 2.0,
        route_floor: float = 0.3,
        route_min_members: int = 5,
    ):
        self.guidance_chars = guidance_chars
        self.max_checklist = min(max_checklist, MAX_CHECKLIST)
        self.route = {"z": route_z, "floor": route_floor, "min_members": route_min_members}

    def build(
        self,
        knowledge: ClusterKnowledge,
        snapshot: ClusterSnapshot,
        published: Sequence[Rule],
        kind: ModuleKind,
        now: float,
        adapter: str | None = None,
    ) -> ExperienceModule:
        ranked = rank_rules(published)
        lines, used = [], 0
        for rule in ranked:
            line = f"- {rule.text}"
            if used + len(line) > self.guidance_chars:
                break
            lines.append(line)
            used += len(line) + 1
        users = {u for r in ranked for u in r.user_support}
        provenance = [p for r in ranked for p in r.provenance][-MAX_PROVENANCE:]
        satisfaction = snapshot.satisfaction_sum / snapshot.feedback_logs if snapshot.feedback_logs else None
        return ExperienceModule(
            namespace=knowledge.namespace,
            cluster_id=knowledge.cluster_id,
            version=knowledge.module_version + 1,
            kind=kind,
            rules=[rule.public() for rule in ranked[: len(lines)]],
            guidance="\n".join(lines) if kind is ModuleKind.PRIMARY else "",
            checklist=[r.text for r in ranked[: self.max_checklist]] if kind is ModuleKind.REFLECTIVE else [],
            gap_score=min(1.0, max(0.0, knowledge.gap_score or 0.0)),
            support=SupportStats(
                logs=snapshot.logs,
                feedback_logs=snapshot.feedback_logs,
                users=len(users),
                satisfaction=None if satisfaction is None else min(1.0, max(0.0, satisfaction)),
            ),
            adapter=adapter,
            route_threshold=route_threshold(snapshot, **self.route),
            embedder_id=snapshot.embedder_id,
            created_at=now,
            provenance=provenance,
        )


class Verdict(msgspec.Struct):
    """The judge's answer: A, B or a tie."""

    better: Literal["A", "B", "tie"]


class WinRateVerifier:
    """The optional win-rate gate: answers held-out logs with and without a new module and keeps the
    previous version unless the new one wins at least ``threshold`` of the judged comparisons."""

    def __init__(
        self,
        llm: LLM,
        threshold: float = 0.53,
        max_logs: int = 4,
        max_length_ratio: float = 3.0,
        max_tokens: int = 256,
        budget_tokens: int = 600,
    ):
        self.llm = llm
        self.threshold = threshold
        self.max_logs = max_logs
        self.max_length_ratio = max_length_ratio
        self.max_tokens = max_tokens
        self.budget_tokens = budget_tokens

    def win_rate(self, module: ExperienceModule, held_out: Sequence[LogRecord]) -> tuple[float | None, int]:
        """Win rate of answers with the module over answers without, and the LLM calls it took."""
        score, judged, calls = 0.0, 0, 0
        rules = "\n".join(f"- {r.text}" for r in module.rules)
        for log in held_out[: self.max_logs]:
            ask = [{"role": "user", "content": clip(log.query, self.budget_tokens)}]
            try:
                plain = self.llm.complete_text("verify", ask, max_tokens=self.max_tokens)
                helped = self.llm.complete_text("verify", module_messages(module, ask), max_tokens=self.max_tokens)
                calls += 2
                ratio = len(helped) / max(1, len(plain))
                if not 1 / self.max_length_ratio <= ratio <= self.max_length_ratio:
                    judged += 1  # a degenerate length loses without asking the judge
                    continue
                a, b, helped_first = ab_order(log.event_id, helped, plain)
                verdict = self.llm.complete_json(
                    "verify",
                    ask(
                        "verify",
                        query=fence(log.query, self.budget_tokens),
                        a=fence(a, self.budget_tokens),
                        b=fence(b, self.budget_tokens),
                        rules=fence(rules, self.budget_tokens),
                    ),
                    Verdict,
                    max_tokens=16,
                )
                calls += 1
            except LLMError:
                continue
            judged += 1
            if verdict.better == "tie":
                score += 0.5
            elif (verdict.better == "A") == helped_first:
                score += 1.0
        return (score / judged if judged else None), calls

    def passes(self, rate: float | None) -> bool:
        return rate is not None and not math.isnan(rate) and rate >= self.threshold
