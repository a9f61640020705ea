"""Prompt templates, kept as text files beside this module, with user text fenced as data.

User-supplied text (queries, responses, feedback) goes inside ``<data>`` fences and the templates
say that fenced text is data to analyse, never instructions to follow. A fence-closing tag inside
user text is neutralised so it cannot break out.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

PROMPTS = Path(__file__).parent / "prompts"


@cache
def template(name: str) -> Template:
    return Template((PROMPTS / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    return template(name).substitute(**values)


def fence(text: str, budget_chars: int) -> str:
    """Wrap user text as data, truncated to a character budget (a cheap stand-in for tokens)."""
    text = text.replace("</data>", "</ data>").replace("<data>", "< data>")
    if len(text) > budget_chars:
        text = text[:budget_chars] + " [...truncated]"
    return f"<data>\n{text}\n</data>"
