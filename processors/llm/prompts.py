"""Prompt templates, kept as text files beside this module, with user text fenced as data.

User-supplied text (queries, responses, feedback) goes inside ``<data>`` fences and the templates
say that fenced text is data to analyse, never instructions to follow. A fence-closing tag inside
user text is neutralised so it cannot break out.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from string import Template

PROMPTS = Path(__file__).parent / "prompts"
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


@cache
def template(name: str) -> Template:
    return Template((PROMPTS / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    return template(name).substitute(**values)


def ask(name: str, **values: str) -> list[dict[str, str]]:
    """The template ``name`` filled with ``values``, as a one-message user conversation."""
    return [{"role": "user", "content": render(name, **values)}]


def estimate_tokens(text: str) -> int:
    """A token estimate without a tokenizer, on the high side: 4 characters per token for alphabetic
    scripts, 2.1 tokens per CJK character. Checked against SmolLM2's tokenizer on 30 replay queries:
    it over-estimates English by ~18% and Chinese by ~9% (an English-centric tokenizer spends ~1.9
    tokens per Chinese character; multilingual tokenizers spend fewer, so the estimate stays safe)."""
    cjk = len(_CJK.findall(text))
    return int(cjk * 2.1 + (len(text) - cjk) / 4.0) + 1


def clip(text: str, budget_tokens: int) -> str:
    """The text cut to about ``budget_tokens`` tokens, marked when cut."""
    estimate = estimate_tokens(text)
    if estimate <= budget_tokens:
        return text
    keep = max(0, int(len(text) * budget_tokens / estimate) - 4)
    while keep and estimate_tokens(text[:keep]) > budget_tokens:
        keep = int(keep * 0.9)
    return text[:keep] + " [...truncated]"


def fence(text: str, budget_tokens: int) -> str:
    """Wrap user text as data, clipped to a token budget; a fence tag inside the text is neutralised."""
    text = text.replace("</data>", "</ data>").replace("<data>", "< data>")
    return f"<data>\n{clip(text, budget_tokens)}\n</data>"


def ab_order(key: str, candidate: str, baseline: str) -> tuple[str, str, bool]:
    """The two answers a pairwise judge sees as (A, B), and whether the candidate is A.

    The order is fixed by a hash of ``key`` (a log or query), so position bias cannot always favour
    the candidate, and the same comparison is always shown the same way.

    >>> ab_order("log-1", "new", "old"), ab_order("b", "new", "old")
    (('new', 'old', True), ('old', 'new', False))
    """
    first = hashlib.sha1(key.encode()).digest()[0] % 2 == 0
    return (candidate, baseline, True) if first else (baseline, candidate, False)
