"""A schema-constrained chat completion through the `openai` client against the real local server."""

from __future__ import annotations

import json

import pytest
from openai import OpenAI

from streams.devstack.launcher import LLM_ALIAS

pytestmark = pytest.mark.infra

RULES_SCHEMA = {
    "type": "object",
    "properties": {"rules": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
    "required": ["rules"],
}


def test_json_schema_constrained_completion_returns_the_declared_structure(llm_base_url):
    client = OpenAI(base_url=llm_base_url, api_key="local", max_retries=0, timeout=60)
    resp = client.chat.completions.create(
        model=LLM_ALIAS,
        messages=[
            {"role": "system", "content": "Reply with JSON: short rules for answering legal questions."},
            {"role": "user", "content": "The user said: always cite the statute article."},
        ],
        # llama.cpp's extension: a JSON Schema that constrains decoding.
        response_format={"type": "json_object", "schema": RULES_SCHEMA},
        temperature=0,
        max_tokens=120,
    )
    body = json.loads(resp.choices[0].message.content)
    assert set(body) == {"rules"}
    assert isinstance(body["rules"], list) and all(isinstance(r, str) for r in body["rules"])
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0


def test_chat_logprobs_are_available_for_a_yes_no_judge(llm_base_url):
    client = OpenAI(base_url=llm_base_url, api_key="local", max_retries=0, timeout=60)
    resp = client.chat.completions.create(
        model=LLM_ALIAS,
        messages=[{"role": "user", "content": "Is Paris in France? Answer yes or no."}],
        max_tokens=1,
        temperature=0,
        logprobs=True,
        top_logprobs=5,
    )
    top = resp.choices[0].logprobs.content[0].top_logprobs
    assert len(top) == 5 and all(t.logprob <= 0 for t in top)
