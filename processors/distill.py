"""Distillation per cluster refresh: new feedback logs -> itemised updates of the cluster's rules.

Unlike the reference code, which rewrites rules per log (14 LLM calls per log to build pairs), one
call reads a batch of logs (each truncated to a budget) together with the cluster's current rules
and answers with updates: *add* a rule, *reinforce* rule R, *contradict* rule R, each naming the logs
behind it. Rules therefore accumulate support across refreshes instead of being rewritten, and every
unit of support is traceable to a log, a user and an offset.

Only logs with verbal feedback (text, correction, edit) are sent to the model; thumbs, ratings and
implicit signals feed the cluster's satisfaction, not its rules. A near-duplicate "add" (cosine
>= ``dedupe_similarity`` to an existing rule) is counted as a reinforcement of that rule: small
models restate rules more often than they reinforce them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, NamedTuple

import msgspec
import numpy as np
from msgspec import Meta

from processors.embedders import Embedder
from processors.llm import LLM, fence, render
from processors.llm.prompts import estimate_tokens
from uno_models import ClusterKnowledge, LogRecord, Provenance, Rule, RuleStatus, signal_of
from uno_models.knowledge import MAX_PROVENANCE, MAX_TRACKED_USERS

ANONYMOUS = "anonymous"  # logs without a user id share one bucket: they can never look like many users
RuleLine = Annotated[str, Meta(min_length=1, max_length=300)]


LogRefs = Annotated[list[Annotated[int, Meta(ge=1)]], Meta(min_length=1, max_length=8)]


class AddRule(msgspec.Struct):
    """A new rule and the logs (1-based, within the batch) behind it."""

    text: RuleLine
    logs: LogRefs


class RuleRef(msgspec.Struct):
    """A reference to a shown rule (1-based) and the logs that reinforce or contradict it."""

    rule: Annotated[int, Meta(ge=1)]
    logs: LogRefs


class DistillReply(msgspec.Struct):
    """One list per kind of update; all three required, so a constrained decoder always writes them."""

    add: Annotated[list[AddRule], Meta(max_length=6)]
    reinforce: Annotated[list[RuleRef], Meta(max_length=8)]
    contradict: Annotated[list[RuleRef], Meta(max_length=8)]


class PriorReply(msgspec.Struct):
    """The model's own rules for a request, before any feedback."""

    rules: Annotated[list[RuleLine], Meta(max_length=5)]


class DistillOutcome(NamedTuple):
    """What a distillation changed: the new knowledge, the rules each log supported, the counts."""

    knowledge: ClusterKnowledge  # a new object: the caller commits it only once the refresh succeeds
    log_rules: dict[str, list[str]]  # event id -> ids of the rules it added or reinforced
    applied: Counter  # op -> count; "invalid" for updates naming unknown logs or rules
    llm_calls: int


def is_verbal(log: LogRecord) -> bool:
    return any(signal_of(fb).verbal for fb in log.feedback)


class Distiller:
    """Turns batches of feedback logs into rule updates: one LLM call per ``batch_logs`` logs, fewer
    when long logs would overflow ``prompt_tokens`` (each field is clipped to ``tokens_per_field``)."""

    def __init__(
        self,
        llm: LLM,
        embedder: Embedder,
        batch_logs: int = 8,
        tokens_per_field: int = 120,
        prompt_tokens: int = 3_000,
        max_rules_shown: int = 20,
        dedupe_similarity: float = 0.88,
    ):
        self.llm = llm
        self.embedder = embedder
        self.batch_logs = batch_logs
        self.tokens_per_field = tokens_per_field
        self.prompt_tokens = prompt_tokens
        self.max_rules_shown = max_rules_shown
        self.dedupe_similarity = dedupe_similarity

    def distill(self, knowledge: ClusterKnowledge, logs: Sequence[LogRecord], now: float) -> DistillOutcome:
        knowledge = copy_knowledge(knowledge)
        verbal = [log for log in logs if is_verbal(log)]
        log_rules: dict[str, list[str]] = {}
        applied: Counter = Counter()
        calls = 0
        for chunk in self._chunks(verbal):
            shown = sorted(
                (r for r in knowledge.rules if r.status is not RuleStatus.REJECTED), key=lambda r: -r.support
            )[: self.max_rules_shown]
            reply = self.llm.complete_json(
                "distill", [{"role": "user", "content": self._prompt(shown, chunk)}], DistillReply
            )
            calls += 1
            for op, updates in (("add", reply.add), ("reinforce", reply.reinforce), ("contradict", reply.contradict)):
                for update in updates:
                    self._apply(knowledge, shown, chunk, op, update, now, log_rules, applied)
        return DistillOutcome(knowledge, log_rules, applied, calls)

    def prior(self, typical_query: str) -> list[str]:
        """The model's own rules for a request like this, before any feedback (the gap's reference)."""
        content = render("prior", query=fence(typical_query, self.tokens_per_field * 3))
        reply = self.llm.complete_json("prior", [{"role": "user", "content": content}], PriorReply, max_tokens=256)
        return [r.strip() for r in reply.rules if r.strip()]

    # ------------------------------------------------------------------ internals

    def _chunks(self, logs: list[LogRecord]) -> list[list[LogRecord]]:
        """Consecutive logs per call: at most ``batch_logs``, and within the prompt's token budget
        (the template and up to ``max_rules_shown`` rules take about a third of it)."""
        budget = self.prompt_tokens * 2 // 3
        chunks: list[list[LogRecord]] = []
        used = budget + 1
        for log in logs:
            cost = estimate_tokens(self._block(0, log))
            if used + cost > budget or len(chunks[-1]) >= self.batch_logs:
                chunks.append([])
                used = 0
            chunks[-1].append(log)
            used += cost
        return chunks

    def _block(self, number: int, log: LogRecord) -> str:
        budget = self.tokens_per_field
        feedback = "\n".join(_describe(fb) for fb in log.feedback)
        return (
            f"Log {number}\nRequest:\n{fence(log.query, budget)}\nAnswer:\n{fence(log.response, budget)}\n"
            f"Feedback:\n{fence(feedback, budget)}"
        )

    def _prompt(self, shown: list[Rule], chunk: list[LogRecord]) -> str:
        rules = "\n".join(f"{i}. {r.text}" for i, r in enumerate(shown, 1)) or "(none yet)"
        return render("distill", rules=rules, logs="\n\n".join(self._block(i, log) for i, log in enumerate(chunk, 1)))

    def _apply(
        self,
        knowledge: ClusterKnowledge,
        shown: list[Rule],
        chunk: list[LogRecord],
        op: str,
        update: AddRule | RuleRef,
        now: float,
        log_rules: dict[str, list[str]],
        applied: Counter,
    ) -> None:
        logs = sorted({i for i in update.logs if 1 <= i <= len(chunk)})
        if not logs:
            applied["invalid"] += 1
            return
        if isinstance(update, AddRule):
            text = update.text.strip()
            if len(text) < 8:
                applied["invalid"] += 1
                return
            rule = self._near_duplicate(knowledge.rules, text)
            if rule is not None:
                op = "reinforce"
            else:
                rule = Rule(id=f"r{knowledge.next_rule}", text=text, first_seen=now, last_seen=now)
                knowledge.next_rule += 1
                knowledge.rules.append(rule)
        else:
            if not 1 <= update.rule <= len(shown):
                applied["invalid"] += 1
                return
            rule = shown[update.rule - 1]
        applied[op] += 1
        for i in logs:
            log = chunk[i - 1]
            if op == "contradict":
                rule.harmful += 1
                continue
            if rule.id in log_rules.get(log.event_id, []) or log.event_id in rule.recent_logs:
                continue  # one log supports a rule once, also when late feedback brings it back
            rule.helpful += 1
            rule.support += 1
            rule.recent_logs = [*rule.recent_logs, log.event_id][-256:]
            user = log.user_id or ANONYMOUS
            if user in rule.user_support or len(rule.user_support) < MAX_TRACKED_USERS:
                rule.user_support[user] = rule.user_support.get(user, 0) + 1
            rule.last_seen = max(rule.last_seen, log.timestamp)
            if log.provenance is not None:
                rule.provenance = merge_provenance(rule.provenance, log.provenance)
            log_rules.setdefault(log.event_id, []).append(rule.id)

    def _near_duplicate(self, rules: list[Rule], text: str) -> Rule | None:
        if not rules:
            return None
        vectors = self.embedder.embed([text, *(r.text for r in rules)])
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        return rules[best] if sims[best] >= self.dedupe_similarity else None


def merge_provenance(ranges: list[Provenance], new: Provenance) -> list[Provenance]:
    """Offset ranges per (topic, partition), widened to include ``new``; bounded in length."""
    out = []
    merged = False
    for p in ranges:
        if (p.topic, p.partition) == (new.topic, new.partition) and not merged:
            out.append(
                Provenance(
                    p.topic, p.partition, min(p.first_offset, new.first_offset), max(p.last_offset, new.last_offset)
                )
            )
            merged = True
        else:
            out.append(p)
    if not merged:
        out.append(new)
    return out[-MAX_PROVENANCE:]


def _describe(fb) -> str:
    kind = fb.kind.value
    if fb.text:
        label = {"correction": "the user's corrected answer", "edit": "the user's edited answer"}.get(kind, "comment")
        return f"{label}: {fb.text}"
    if fb.value is not None:
        return f"{kind}: {fb.value:g}" + (f"/{fb.scale}" if fb.scale else "")
    return kind


def copy_knowledge(knowledge: ClusterKnowledge) -> ClusterKnowledge:
    """A deep copy: refresh steps work on copies so a failed refresh leaves the caller's state intact."""
    return msgspec.json.decode(msgspec.json.encode(knowledge), type=ClusterKnowledge)
