"""The LLM wrapper against the real local llama.cpp server: structure, accounting, typed failures."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from msgspec import Meta

from processors.gap import PriorReply
from processors.llm import ChatLLM, LLMError
from streams.devstack.launcher import LLM_ALIAS, free_port

pytestmark = pytest.mark.infra


def test_schema_constrained_json_decodes_into_the_struct_and_is_accounted(llm_base_url):
    llm = ChatLLM(llm_base_url, LLM_ALIAS)
    reply = llm.complete_json(
        "prior",
        [{"role": "user", "content": "List 2 rules for answering legal questions."}],
        PriorReply,
        max_tokens=128,
    )
    assert isinstance(reply, PriorReply) and len(reply.rules) <= 5
    summary = llm.ledger.summary()["prior"]
    assert summary["requests"] == 1 and summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0
    assert llm.ledger.calls[("prior", "ok")] == 1


def test_yes_probability_comes_from_logprobs(llm_base_url):
    llm = ChatLLM(llm_base_url, LLM_ALIAS)
    p = llm.yes_probability("judge", [{"role": "user", "content": "Is water wet? Answer with one word: yes or no."}])
    assert p is None or 0.0 <= p <= 1.0
    assert llm.ledger.requests("judge") == 1


class Impossible(msgspec.Struct):
    year: Annotated[int, Meta(ge=10**12)]


def test_output_that_never_parses_is_retried_then_fails_typed(llm_base_url):
    llm = ChatLLM(llm_base_url, LLM_ALIAS, json_mode="none", max_retries=2, backoff_s=0.01)
    with pytest.raises(LLMError) as info:
        llm.complete_json("distill", [{"role": "user", "content": "Say hello."}], Impossible, max_tokens=16)
    assert info.value.reason == "unparseable" and info.value.attempts == 3
    assert llm.ledger.calls[("distill", "retry")] == 2 and llm.ledger.calls[("distill", "unparseable")] == 1


def test_an_unreachable_endpoint_is_a_transport_failure_after_retries():
    llm = ChatLLM(f"http://127.0.0.1:{free_port()}/v1", LLM_ALIAS, max_retries=2, backoff_s=0.01, timeout_s=2)
    with pytest.raises(LLMError) as info:
        llm.complete_text("answer", [{"role": "user", "content": "hi"}])
    assert (info.value.reason, info.value.attempts) == ("transport", 3)
    assert llm.ledger.requests("answer") == 3
