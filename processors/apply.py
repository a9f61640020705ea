"""Turning a module into what the serving tier sends: guidance, a self-check, or draft -> critique -> revise.

>>> from uno_models import ExperienceModule, ModuleKind
>>> m = ExperienceModule(namespace="n", cluster_id=1, version=1, kind=ModuleKind.PRIMARY, gap_score=0.1,
...                      guidance="- Cite the statute article.", embedder_id="e", created_at=0)
>>> with_guidance(m, [{"role": "user", "content": "Is this legal?"}])[0]["role"]
'system'
"""

from __future__ import annotations

from collections.abc import Sequence

from processors.llm import LLM, ask, fence, render
from uno_models import ExperienceModule, ModuleKind

Messages = list[dict[str, str]]
RULES_BUDGET = 1_000  # tokens of rules or checklist a prompt carries (a module holds a few short ones)


def _with_system(messages: Sequence[dict], text: str) -> Messages:
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0]["content"] = f"{out[0]['content']}\n\n{text}"
    else:
        out.insert(0, {"role": "system", "content": text})
    return out


def with_guidance(module: ExperienceModule, messages: Sequence[dict]) -> Messages:
    """Primary module: the rules as guidance in the system message."""
    return _with_system(messages, render("guidance", rules=fence(module.guidance, RULES_BUDGET)))


def with_selfcheck(module: ExperienceModule, messages: Sequence[dict]) -> Messages:
    """Reflective module, single call: the checklist as a self-check instruction."""
    return _with_system(messages, render("selfcheck", checklist=fence(_numbered(module.checklist), RULES_BUDGET)))


def module_messages(module: ExperienceModule, messages: Sequence[dict]) -> Messages:
    """The one-call application of a module of either kind."""
    return with_guidance(module, messages) if module.kind is ModuleKind.PRIMARY else with_selfcheck(module, messages)


def reflect(
    llm: LLM, module: ExperienceModule, messages: Sequence[dict], max_tokens: int = 512, budget_tokens: int = 1_000
) -> tuple[str, str, str]:
    """Reflective module, three calls: draft, critique against the checklist, revise. Returns all three."""
    query = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    draft = llm.complete_text("answer", list(messages), max_tokens=max_tokens)
    fenced = {"query": fence(query, budget_tokens), "draft": fence(draft, budget_tokens)}
    checklist = fence(_numbered(module.checklist), RULES_BUDGET)
    critique = llm.complete_text("critique", ask("critique", **fenced, checklist=checklist), max_tokens=256)
    revise = ask("revise_with_critique", **fenced, critique=fence(critique, budget_tokens))
    revised = llm.complete_text("revise", revise, max_tokens=max_tokens)
    return draft, critique, revised


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
