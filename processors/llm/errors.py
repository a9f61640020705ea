"""The typed failure of an LLM call, which callers count instead of crashing on."""

from __future__ import annotations

from typing import Literal

Reason = Literal["transport", "unparseable", "no_logprobs"]


class LLMError(RuntimeError):
    """The LLM could not give a usable answer after the allowed attempts.

    ``reason``: ``transport`` (connection, timeout, 5xx, rate limit) or ``unparseable`` (the output
    never matched the schema). ``purpose`` is what the call was for (distill, prior, judge, ...).
    """

    def __init__(self, purpose: str, reason: Reason, attempts: int, detail: str):
        super().__init__(f"LLM {purpose} failed after {attempts} attempt(s) ({reason}): {detail}")
        self.purpose = purpose
        self.reason = reason
        self.attempts = attempts
