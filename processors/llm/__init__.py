"""The LLM backend: one client for any OpenAI-compatible endpoint, its typed failure, prompts, accounting."""

from __future__ import annotations

from typing import Protocol, TypeVar

from processors.llm.client import ChatLLM, Messages
from processors.llm.errors import LLMError
from processors.llm.prompts import ask, fence, render
from processors.llm.usage import CallRecord, UsageLedger

T = TypeVar("T")


class LLM(Protocol):
    """What the processors need from a chat model (`ChatLLM` is the implementation)."""

    ledger: UsageLedger

    def complete_json(self, purpose: str, messages: Messages, type_: type[T], max_tokens: int = 512) -> T: ...

    def complete_text(
        self, purpose: str, messages: Messages, max_tokens: int = 512, temperature: float = 0.0
    ) -> str: ...

    def yes_probability(self, purpose: str, messages: Messages) -> float | None: ...


__all__ = ["LLM", "CallRecord", "ChatLLM", "LLMError", "Messages", "UsageLedger", "ask", "fence", "render"]
