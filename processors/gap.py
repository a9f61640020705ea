"""The cognitive gap: how far what users ask for is from what the model already leans toward.

For each feedback rule, a yes/no judge is asked whether the rule is already covered by the model's
own prior rules for the cluster's typical request; novelty = 1 - P(yes), from the judge's token
logprobs. Per log, the minimum novelty over the rules it supported (the log is only as novel as its
most familiar rule); per cluster, the running mean over logs. A cluster whose mean is at or above
the threshold (0.45, the paper's default) gets a *reflective* module, otherwise a *primary* one.

When the endpoint gives no logprobs, P(covered) falls back to the embedding similarity between the
rule and its closest prior rule, mapped linearly from [``sim_low``, ``sim_high``] onto [0, 1]. With
no LLM at all there is no prior: novelty is unknown, the gap score stays unset, and the cluster's
module is primary (the reflective loop needs a model anyway).

>>> GapEstimator.kind_for(0.5, threshold=0.45).value, GapEstimator.kind_for(0.2, threshold=0.45).value
('reflective', 'primary')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from processors.embedders import Embedder
from processors.llm import LLM, ask, fence
from uno_models import ClusterKnowledge, ModuleKind


class PriorReply(msgspec.Struct):
    """The model's own rules for a request, before any feedback."""

    rules: Annotated[list[Annotated[str, Meta(min_length=1, max_length=300)]], Meta(max_length=5)]


class GapEstimator:
    """Scores each rule's novelty against the model's prior rules and keeps the cluster's running mean.

    >>> GapEstimator.kind_for(0.6, threshold=0.45).value
    'reflective'
    """

    def __init__(
        self,
        llm: LLM | None,
        embedder: Embedder,
        threshold: float = 0.45,
        sim_low: float = 0.3,
        sim_high: float = 0.8,
        tokens_per_query: int = 360,
    ):
        self.llm = llm
        self.embedder = embedder
        self.threshold = threshold
        self.sim_low = sim_low
        self.sim_high = sim_high
        self.tokens_per_query = tokens_per_query
        self.fallbacks = 0  # novelties estimated from embeddings because the judge gave no logprobs

    def prior(self, typical_query: str) -> list[str]:
        """The model's own rules for a request like this, before any feedback (the gap's reference).
        One LLM call; with no LLM there is no prior."""
        if self.llm is None:
            return []
        content = ask("prior", query=fence(typical_query, self.tokens_per_query))
        reply = self.llm.complete_json("prior", content, PriorReply, max_tokens=256)
        return [r.strip() for r in reply.rules if r.strip()]

    def novelty(self, rule: str, priors: Sequence[str]) -> float | None:
        """1 - P(the rule is already covered by the priors); None when it cannot be told (no LLM, no prior)."""
        if not priors:
            return None if self.llm is None else 1.0
        listed = "\n".join(f"- {p}" for p in priors)
        prompt = ask("covered", priors=fence(listed, 1_000), rule=fence(rule, 1_000))
        p_yes = None if self.llm is None else self.llm.yes_probability("judge", prompt)
        if p_yes is None:
            self.fallbacks += 1
            vectors = self.embedder.embed([rule, *priors])
            sim = float(np.max(vectors[1:] @ vectors[0]))
            p_yes = float(np.clip((sim - self.sim_low) / (self.sim_high - self.sim_low), 0.0, 1.0))
        return 1.0 - p_yes

    def update(
        self, knowledge: ClusterKnowledge, log_rules: dict[str, list[str]], stop: Callable[[], bool] = lambda: False
    ) -> tuple[ClusterKnowledge, int]:
        """Score the rules that lack a novelty, fold each log's minimum novelty into the running mean.
        ``stop`` is asked before each judge call: once it says so, the rules left keep no novelty (judged
        at a later refresh) and logs of only those rules are left out of the mean. With an LLM but no
        prior asked yet, no rule is judged: "not covered by a prior nobody asked for" is not novelty.

        Returns the updated knowledge and the number of judge calls made.
        """
        calls = 0
        rules = {r.id: r for r in knowledge.rules}
        asked = bool(knowledge.priors or knowledge.prior_centroid)  # the prior is known (maybe empty)
        for rule_id in sorted({rid for rids in log_rules.values() for rid in rids}):
            rule = rules[rule_id]
            if rule.novelty is None and self.llm is not None and (not asked or (knowledge.priors and stop())):
                continue  # no prior yet (failed, or left for later), or yielding: judged at a later refresh
            if rule.novelty is None:
                rule.novelty = self.novelty(rule.text, knowledge.priors)
                calls += int(self.llm is not None and bool(knowledge.priors))
        gap_sum, gap_logs = knowledge.gap_sum, knowledge.gap_logs
        for rids in log_rules.values():
            known = [rules[rid].novelty for rid in rids if rules[rid].novelty is not None]
            if known:  # a log is only as novel as its most familiar rule
                gap_sum += min(known)
                gap_logs += 1
        return msgspec.structs.replace(knowledge, gap_sum=gap_sum, gap_logs=gap_logs), calls

    @staticmethod
    def kind_for(gap_score: float, threshold: float) -> ModuleKind:
        return ModuleKind.REFLECTIVE if gap_score >= threshold else ModuleKind.PRIMARY
