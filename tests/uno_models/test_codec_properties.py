"""Property-based tests of the decoders: arbitrary input raises only the one documented error."""

from __future__ import annotations

import json

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uno_models import ContractError, InteractionEvent, decode_feedback, decode_interaction, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)

KEYS = [
    "event_id",
    "timestamp",
    "namespace",
    "user_id",
    "query",
    "messages",
    "response",
    "feedback",
    "metadata",
    "schema_version",
    "kind",
    "value",
    "scale",
    "text",
    "role",
    "content",
]
near_events = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)


def _only_contract_errors(data) -> None:
    for decoder in (decode_interaction, decode_feedback):
        try:
            decoder(data)
        except ContractError as err:
            assert err.path.startswith("$")
            assert err.reason


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_contract_error(data):
    _only_contract_errors(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(near_events)
def test_arbitrary_json_objects_raise_only_contract_error(obj):
    _only_contract_errors(json.dumps(obj).encode())


feedback = st.fixed_dictionaries(
    {"kind": st.sampled_from(["thumbs", "copy", "regenerate", "text"]), "value": st.sampled_from([1, -1])},
    optional={"user_id": st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)},
).map(lambda d: {**d, "text": "needs more detail"} if d["kind"] == "text" else d)

valid_events = st.fixed_dictionaries(
    {
        "event_id": st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
        "timestamp": st.floats(min_value=0, max_value=4e9),
        "query": st.text(min_size=1, max_size=200).filter(str.strip),
    },
    optional={
        "namespace": st.from_regex(r"[a-z0-9_-]{1,16}", fullmatch=True),
        "response": st.text(max_size=200),
        "feedback": st.lists(feedback, max_size=4),
        "metadata": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    },
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events)
def test_valid_events_decode_and_round_trip(obj):
    event = decode_interaction(json.dumps(obj).encode())
    assert isinstance(event, InteractionEvent)
    assert decode_interaction(encode(event)) == event
    assert msgspec.json.decode(encode(event))["event_id"] == obj["event_id"]
