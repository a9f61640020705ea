"""What producers send: interactions (query, response, feedback) and late feedback.

The Structs are the schema. Types, defaults and size limits are declared here once, checked by
msgspec at decode time, and exported as JSON Schema by ``uno schema`` so that producers in any
language can validate before they send.

>>> from uno_models import decode_interaction
>>> ev = decode_interaction(b'{"event_id": "e1", "timestamp": 1.0, "query": "hi", "response": "hello",'
...                         b' "feedback": [{"kind": "thumbs", "value": -1}]}')
>>> ev.namespace, ev.user_query, ev.feedback[0].kind.value
('default', 'hi', 'thumbs')
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from uno_models.limits import (
    MAX_FEEDBACK_ITEMS,
    MAX_MESSAGES,
    MAX_METADATA_ITEMS,
    FeedbackText,
    Id,
    MetaValue,
    Name,
    Namespace,
    Text,
    Timestamp,
)

#: The version this code writes. Events with a lower version are upgraded on decode; events with
#: a higher one are rejected with a clear error (the worker is older than the producer).
SCHEMA_VERSION = 1

SchemaVersion = Annotated[int, Meta(ge=1, description="contract version the producer wrote")]


class FeedbackKind(enum.Enum):
    """Every kind of user feedback UNO understands. Unknown kinds are rejected, never guessed."""

    RATING = "rating"  # value on [scale_min, scale]
    THUMBS = "thumbs"  # value +1 (up) or -1 (down)
    TEXT = "text"  # verbal feedback in `text`
    CORRECTION = "correction"  # `text` is the answer the user wanted
    EDIT = "edit"  # `text` is the user's edited version of the response
    REGENERATE = "regenerate"  # the user asked for another answer
    COPY = "copy"  # the user copied the answer
    ABANDON = "abandon"  # the user left without using the answer


_NEEDS_TEXT = {FeedbackKind.TEXT, FeedbackKind.CORRECTION, FeedbackKind.EDIT}


class Feedback(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One piece of feedback on an interaction, inline or late (see `FeedbackEvent`)."""

    kind: FeedbackKind
    value: float | None = None
    scale: Annotated[int, Meta(ge=1, le=100)] | None = None
    scale_min: Annotated[int, Meta(ge=0, le=99)] = 1
    text: FeedbackText | None = None
    timestamp: Timestamp | None = None
    user_id: Id | None = None

    def __post_init__(self) -> None:
        # Raised as ValueError: msgspec turns it into a ValidationError at this object's path.
        kind = self.kind
        if kind is FeedbackKind.RATING:
            if self.value is None or self.scale is None:
                raise ValueError("a rating needs `value` and `scale`")
            if self.scale <= self.scale_min:
                raise ValueError(f"rating `scale` ({self.scale}) must exceed `scale_min` ({self.scale_min})")
            if not self.scale_min <= self.value <= self.scale:
                raise ValueError(f"rating `value` {self.value} is outside [{self.scale_min}, {self.scale}]")
        elif kind is FeedbackKind.THUMBS:
            if self.value not in (1, -1):
                raise ValueError("thumbs `value` must be 1 (up) or -1 (down)")
        elif kind in _NEEDS_TEXT and (not self.text or not self.text.strip()):
            raise ValueError(f"{kind.value} feedback needs a non-empty `text`")


class Message(msgspec.Struct, omit_defaults=True):
    """One chat message, as in OpenAI's chat completions API."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Text


class InteractionEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One logged interaction: the user's request, the system's response, and any feedback.

    ``event_id`` is the idempotency key: replaying the same event never counts it twice.
    Either ``query`` or ``messages`` (with at least one user message) must be present.
    """

    event_id: Id
    timestamp: Timestamp
    namespace: Namespace = "default"
    user_id: Id | None = None
    session_id: Id | None = None
    model: Name | None = None
    query: Text | None = None
    messages: Annotated[list[Message], Meta(max_length=MAX_MESSAGES)] | None = None
    response: Text = ""
    feedback: Annotated[list[Feedback], Meta(max_length=MAX_FEEDBACK_ITEMS)] = []
    metadata: Annotated[dict[Name, MetaValue], Meta(max_length=MAX_METADATA_ITEMS)] = {}
    schema_version: SchemaVersion = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _check_version(self.schema_version)
        if not self.user_query.strip():
            raise ValueError("needs a non-empty `query` or a user message in `messages`")

    @property
    def user_query(self) -> str:
        """The request this interaction answers: ``query``, else the last user message."""
        if self.query is not None:
            return self.query
        for message in reversed(self.messages or ()):
            if message.role == "user":
                return message.content
        return ""


class FeedbackEvent(Feedback, kw_only=True, omit_defaults=True):
    """Feedback that arrives after its interaction (by ``event_id``), on the feedback topic.

    ``feedback_id`` makes redelivery idempotent; without one, the content is the identity.
    """

    event_id: Id
    namespace: Namespace = "default"
    feedback_id: Id | None = None
    schema_version: SchemaVersion = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _check_version(self.schema_version)
        super().__post_init__()

    def to_feedback(self) -> Feedback:
        return Feedback(
            kind=self.kind,
            value=self.value,
            scale=self.scale,
            scale_min=self.scale_min,
            text=self.text,
            timestamp=self.timestamp,
            user_id=self.user_id,
        )


def _check_version(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"`schema_version` {version} is newer than this worker understands ({SCHEMA_VERSION}); upgrade the worker"
        )
