"""Optional wording by an LLM: a rule's evidence rephrased into one short imperative, kept only if faithful.

The rule text a theme publishes is a user's own statement (`processors.themes`). When an LLM is
configured it may *rephrase* that evidence once per rule ("Way too verbose, 100 words max." ->
"Answer in at most 100 words."), and the rephrasing is kept only if it stays faithful:

- its embedding is at least ``min_similarity`` (cosine) from the statement it rewrites;
- it keeps the statement's polarity (a "don't" stays a "don't");
- it names nothing the users did not write (capitalised words, numbers, links);
- it passes the filters (no injection, no promotion).

Otherwise the users' words are published. One LLM call per new rule, never per log, and none for a
rule that is a short imperative already (`already_plain`); a weak model costs a call and changes
nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from processors.embedders import Embedder
from processors.evidence import is_cjk, polarity, promotes, reads_as_imperative
from processors.llm import LLM, LLMError, ask, fence
from processors.noise import reads_as_injection
from uno_models import ClusterKnowledge

_NAMES = re.compile(r"https?://\S+|\b\d[\d.,]*\b|(?<!^)(?<![.!?]\s)\b[A-Z][\w-]*")


def already_plain(text: str) -> bool:
    """A short imperative already ("Cite the article number of the law.", "用连贯的文字,不要分点。"): one
    sentence, no question, at most 8 words (16 Chinese characters), opening with the request. There is
    nothing to rephrase, so no call is made."""
    body = text.strip().rstrip(".!。！")
    if not reads_as_imperative(text) or re.search(r"^(?:please|pls)\b|[:：]", body, re.I):
        return False
    if is_cjk(body):
        return len(body) <= 16
    return 2 <= len(body.split()) <= 8


class RephraseReply(msgspec.Struct):
    """The model's wording of the users' request."""

    rule: Annotated[str, Meta(min_length=3, max_length=200)]


class Rephraser:
    """Rephrases each publishable rule's evidence once, keeping the wording only if faithful.

    Example (needs an LLM server, so not a doctest)::

        knowledge, calls, outcomes = Rephraser(llm, embedder).rephrase(knowledge, {"t0"})
        outcomes            # Counter({"kept": 1}) or {"unfaithful": 1}, {"llm_failed": 1}
    """

    def __init__(self, llm: LLM, embedder: Embedder, min_similarity: float = 0.75, max_evidence: int = 6):
        self.llm = llm
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.max_evidence = max_evidence

    def rephrase(
        self, knowledge: ClusterKnowledge, rule_ids: set[str], stop: Callable[[], bool] = lambda: False
    ) -> tuple[int, Counter]:
        """Rephrase the themes in ``rule_ids`` not tried yet (in place); return the calls and outcomes.
        ``stop`` is asked before each call: once it says so, the themes left are tried at a later refresh
        (outcome ``deferred``)."""
        calls, outcomes = 0, Counter()
        for theme in knowledge.themes:
            if theme.id not in rule_ids or not theme.canonical:
                continue
            sign, _ = polarity(theme.canonical)
            evidence = [e.text for e in sorted(theme.exemplars, key=lambda e: -e.count) if polarity(e.text)[0] == sign]
            if theme.rephrase_tried:  # one call per rule: new evidence only re-checks the old wording
                moved = theme.rephrased and theme.rephrased_from != theme.canonical
                if moved and self.unfaithful(theme.rephrased, theme.canonical, evidence) is None:
                    theme.rephrased_from = theme.canonical
                continue
            if already_plain(theme.canonical):
                outcomes["plain"] += 1
                continue
            if stop():
                outcomes["deferred"] += 1
                continue
            theme.rephrase_tried = theme.canonical
            listed = "\n".join(f"- {text}" for text in evidence[: self.max_evidence])
            try:
                messages = ask("rephrase", evidence=fence(listed, 300))
                reply = self.llm.complete_json("rephrase", messages, RephraseReply, max_tokens=64)
            except LLMError:
                outcomes["llm_failed"] += 1
                continue
            finally:
                calls += 1
            text = " ".join(reply.rule.split())
            why = self.unfaithful(text, theme.canonical, evidence)
            outcomes[why or "kept"] += 1
            if why is None:
                theme.rephrased, theme.rephrased_from = text, theme.canonical
        return calls, outcomes

    def unfaithful(self, text: str, canonical: str, evidence: list[str]) -> str | None:
        """Why ``text`` may not replace ``canonical`` (None when it may)."""
        if reads_as_injection(text) or promotes(text):
            return "filtered"
        if polarity(text)[0] != polarity(canonical)[0]:
            return "polarity"
        said = " ".join(evidence).lower()
        if any(name.lower() not in said for name in _NAMES.findall(text)):
            return "new_entity"
        a, b = self.embedder.embed([text, canonical])
        if float(np.dot(a, b)) < self.min_similarity:
            return "drifted"
        return None
