"""Decoding and encoding of the contract, with one documented error type.

Every decoder here raises `ContractError` and nothing else, whatever the bytes: malformed JSON,
wrong types, values out of range, oversized strings or lists. The error names the field path
(JSONPath, ``$.feedback[0].value``) and the reason, so a producer can fix its event.

>>> from uno_models import ContractError, decode_interaction
>>> try:
...     decode_interaction(b'{"event_id": "e1", "timestamp": 1, "query": 7}')
... except ContractError as err:
...     print(err.path, "|", err.reason)
$.query | Expected `str | null`, got `int`
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec

from uno_models.events import FeedbackEvent, InteractionEvent

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[type, msgspec.json.Decoder] = {}


class ContractError(ValueError):
    """An event that does not satisfy the contract. ``path`` is a JSONPath, ``reason`` plain words."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def decode(data: bytes | bytearray | memoryview | str, type_: type[T]) -> T:
    """Decode JSON into ``type_``, raising `ContractError` on any problem."""
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = msgspec.json.Decoder(type_)
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as err:
        raise _contract_error(str(err)) from None
    except msgspec.DecodeError as err:
        raise ContractError("$", str(err)) from None
    except UnicodeError as err:  # a str argument with lone surrogates
        raise ContractError("$", f"invalid text: {err}") from None


def decode_interaction(data: bytes | bytearray | memoryview | str) -> InteractionEvent:
    return decode(data, InteractionEvent)


def decode_feedback(data: bytes | bytearray | memoryview | str) -> FeedbackEvent:
    return decode(data, FeedbackEvent)


def encode(obj: Any) -> bytes:
    return _ENCODER.encode(obj)


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the event types producers send, generated from the Structs."""
    (interaction, feedback), components = msgspec.json.schema_components(
        (InteractionEvent, FeedbackEvent), ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://uno-streaming.invalid/schema/events.json",
        "title": "UNO streaming events",
        "description": "InteractionEvent on the interactions topic; FeedbackEvent on the feedback topic.",
        "anyOf": [interaction, feedback],
        "$defs": components,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False)


def _contract_error(message: str) -> ContractError:
    # msgspec words its errors "<reason> - at `<path>`"; a post-init error reads the same way.
    reason, sep, path = message.rpartition(" - at `")
    if not sep:
        return ContractError("$", message)
    return ContractError(path.rstrip("`"), reason)
