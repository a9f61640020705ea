"""Size limits of the contract, declared once and used in every Struct.

The limits bound what one event can cost a worker (memory, embedding time, prompt tokens). They are
generous for real chat traffic: the longest query of the MemoryBench replay set is ~130k characters.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

MAX_ID = 128
MAX_NAME = 256
MAX_TEXT = 262_144  # query / response / correction
MAX_FEEDBACK_TEXT = 32_768
MAX_RULE_TEXT = 1_024
MAX_MESSAGES = 256
MAX_FEEDBACK_ITEMS = 64
MAX_METADATA_ITEMS = 64
MAX_METADATA_VALUE = 2_048
MAX_RULES = 256
MAX_VECTOR = 8_192

# Identifiers: printable, no whitespace, so they are safe as Kafka keys and Qdrant payload values.
Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9_.:@/+=-]+$")]
Namespace = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Name = Annotated[str, Meta(max_length=MAX_NAME)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
FeedbackText = Annotated[str, Meta(max_length=MAX_FEEDBACK_TEXT)]
RuleText = Annotated[str, Meta(min_length=1, max_length=MAX_RULE_TEXT)]
MetaValue = Annotated[str, Meta(max_length=MAX_METADATA_VALUE)]
Timestamp = Annotated[float, Meta(ge=0, description="seconds since the Unix epoch (UTC)")]
Count = Annotated[int, Meta(ge=0)]
Unit = Annotated[float, Meta(ge=0.0, le=1.0)]
