"""The one place that talks to an OpenAI-compatible chat endpoint.

`ChatLLM` asks for JSON constrained by a schema generated from a msgspec Struct, decodes the answer
into that Struct, and retries transport errors and unparseable output with exponential backoff;
after the last attempt it raises `LLMError`, which callers count. Every attempt is recorded in a
`UsageLedger` by purpose and outcome, with tokens and latency.

JSON modes (a setting, never inferred from the model name):

- ``llamacpp``: ``response_format={"type": "json_object", "schema": ...}`` (llama.cpp's extension;
  its server answers HTTP 500 to OpenAI's form);
- ``openai``: ``response_format={"type": "json_schema", "json_schema": {...}}`` (OpenAI, vLLM);
- ``none``: no constraint; the schema is stated in the prompt and the output parsed.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Literal, TypeVar

import msgspec
import openai
import tenacity
from openai import OpenAI

from processors.llm.errors import LLMError
from processors.llm.usage import CallRecord, UsageLedger
from processors.retry import TRANSIENT, openai_client, policy

T = TypeVar("T")
JsonMode = Literal["llamacpp", "openai", "none"]
Messages = list[dict[str, str]]


class _UnparseableError(ValueError):
    """The answer did not match the expected shape (retried like a transient failure)."""


class ChatLLM:
    """A chat model behind any OpenAI-compatible endpoint.

    Example (needs a running server, so not a doctest)::

        llm = ChatLLM("http://127.0.0.1:8080/v1", "smollm2-135m-instruct")
        rules = llm.complete_json("prior", messages, PriorRules)   # a PriorRules Struct
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        json_mode: JsonMode = "llamacpp",
        timeout_s: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        ledger: UsageLedger | None = None,
        client: OpenAI | None = None,
    ):
        # The SDK's own retries are off: retries follow processors.retry, counted in the ledger.
        self._client = client or openai_client(base_url, api_key, timeout_s)
        self.model = model
        self.json_mode = json_mode
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.ledger = ledger or UsageLedger()

    # ------------------------------------------------------------------ public API

    def complete_json(self, purpose: str, messages: Messages, type_: type[T], max_tokens: int = 512) -> T:
        """A completion decoded into ``type_`` (a msgspec Struct), retried until it parses."""
        schema = inline_schema(type_)
        kwargs: dict[str, Any] = {}
        if self.json_mode == "llamacpp":
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        elif self.json_mode == "openai":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": type_.__name__, "schema": schema},
            }
        else:
            messages = [
                *messages[:-1],
                {
                    "role": messages[-1]["role"],
                    "content": messages[-1]["content"]
                    + "\n\nAnswer with JSON only, matching this JSON Schema:\n"
                    + json.dumps(schema),
                },
            ]

        def parse(resp) -> T:
            return msgspec.json.decode(_strip_fences(resp.choices[0].message.content or ""), type=type_)

        return self._call(purpose, parse, messages=messages, max_tokens=max_tokens, temperature=0, **kwargs)

    def complete_text(self, purpose: str, messages: Messages, max_tokens: int = 512, temperature: float = 0.0) -> str:
        def parse(resp) -> str:
            text = resp.choices[0].message.content
            if not text or not text.strip():
                raise ValueError("empty completion")
            return text.strip()

        return self._call(purpose, parse, messages=messages, max_tokens=max_tokens, temperature=temperature)

    def yes_probability(self, purpose: str, messages: Messages) -> float | None:
        """P("yes") / (P("yes") + P("no")) from the first generated token's logprobs.

        None when the endpoint returns no logprobs or neither word is among the top tokens; the
        caller then falls back to another estimate.
        """

        def parse(resp) -> float | None:
            logprobs = resp.choices[0].logprobs
            if logprobs is None or not logprobs.content:
                return None
            yes = no = 0.0
            for cand in logprobs.content[0].top_logprobs:
                word = cand.token.strip().lower()
                if word in ("yes", "y"):
                    yes += math.exp(cand.logprob)
                elif word in ("no", "n"):
                    no += math.exp(cand.logprob)
            return yes / (yes + no) if yes + no > 0 else None

        return self._call(
            purpose, parse, messages=messages, max_tokens=1, temperature=0, logprobs=True, top_logprobs=10
        )

    # ------------------------------------------------------------------ internals

    def _call(self, purpose: str, parse, **request: Any):
        attempts = self.max_retries + 1
        retry_on = (*TRANSIENT, _UnparseableError)
        try:
            for attempt in tenacity.Retrying(**policy(attempts, self.backoff_s, retry_on=retry_on)):
                with attempt:
                    return self._attempt(purpose, parse, attempt.retry_state.attempt_number == attempts, request)
        except TRANSIENT as exc:
            raise LLMError(purpose, "transport", attempts, f"{type(exc).__name__}: {exc}") from exc
        except _UnparseableError as exc:
            raise LLMError(purpose, "unparseable", attempts, str(exc)) from exc
        except openai.APIStatusError as exc:  # 4xx: our request is wrong; retrying will not help
            raise LLMError(purpose, "transport", 1, f"HTTP {exc.status_code}: {exc.message}") from exc

    def _attempt(self, purpose: str, parse, last: bool, request: dict[str, Any]):
        """One request, recorded in the ledger; raises what the retry policy looks at."""
        start = time.perf_counter()
        try:
            resp = self._client.chat.completions.create(model=self.model, **request)
        except TRANSIENT:
            self._record(purpose, "transport" if last else "retry", None, start)
            raise
        except openai.APIStatusError:
            self._record(purpose, "transport", None, start)
            raise
        try:
            value = parse(resp)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, IndexError, AttributeError) as exc:
            self._record(purpose, "unparseable" if last else "retry", resp, start)
            if "temperature" in request:  # at temperature 0 the same prompt fails the same way: let the retry differ
                request["temperature"] = min(1.0, request["temperature"] + 0.3)
            raise _UnparseableError(str(exc)[:300]) from exc
        self._record(purpose, "ok", resp, start)
        return value

    def _record(self, purpose: str, outcome: str, resp, start: float) -> None:
        usage = getattr(resp, "usage", None)
        self.ledger.record(
            CallRecord(
                purpose,
                outcome,
                getattr(usage, "prompt_tokens", 0) or 0,
                getattr(usage, "completion_tokens", 0) or 0,
                time.perf_counter() - start,
            )
        )


def inline_schema(type_: type) -> dict[str, Any]:
    """The JSON Schema of a Struct with every ``$ref`` replaced by its definition.

    llama.cpp's schema-to-grammar conversion silently ignores a top-level ``$ref`` (the output is
    then unconstrained), so the schema sent is self-contained. Our reply types are not recursive.
    """
    schema = msgspec.json.schema(type_)
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def _strip_fences(text: str) -> str:
    """Models without constrained decoding often wrap JSON in ```json fences."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text
