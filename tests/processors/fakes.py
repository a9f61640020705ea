"""A scripted LLM for unit tests of pure logic. It behaves like `ChatLLM` where the logic can tell:
answers are decoded into the requested Struct (a wrong shape raises like unparseable output does),
every call is recorded in a real `UsageLedger`, and a scripted failure raises `LLMError`."""

from __future__ import annotations

from collections import deque

import msgspec

from processors.llm import CallRecord, LLMError, UsageLedger


class ScriptedLLM:
    def __init__(self, json=(), text=(), yes=()):
        self.json = deque(json)  # dicts (decoded into the requested type) or LLMError instances
        self.text = deque(text)
        self.yes = deque(yes)
        self.ledger = UsageLedger()
        self.prompts: list[tuple[str, str]] = []

    def _next(self, queue, purpose, messages):
        self.prompts.append((purpose, messages[-1]["content"]))
        if not queue:
            raise AssertionError(f"unscripted {purpose} call")
        item = queue.popleft()
        outcome = "transport" if isinstance(item, LLMError) else "ok"
        self.ledger.record(CallRecord(purpose, outcome, 10, 5, 0.0))
        if isinstance(item, LLMError):
            raise item
        return item

    def complete_json(self, purpose, messages, type_, max_tokens=512):
        raw = self._next(self.json, purpose, messages)
        try:
            return msgspec.convert(raw, type_)
        except msgspec.ValidationError as exc:
            raise LLMError(purpose, "unparseable", 1, str(exc)) from None

    def complete_text(self, purpose, messages, max_tokens=512, temperature=0.0):
        return self._next(self.text, purpose, messages)

    def yes_probability(self, purpose, messages):
        return self._next(self.yes, purpose, messages)
