"""The one place that maps a feedback kind to a polarity and a weight.

Polarity is in [-1, 1] (negative: the user was unhappy with the response). Weight says how much the
signal is worth next to an explicit verbal one (1.0). ``verbal`` marks feedback whose text can be
distilled into rules; ``pair`` marks feedback that yields a preference pair without any LLM call.

>>> from uno_models import Feedback, FeedbackKind, signal_of
>>> signal_of(Feedback(kind=FeedbackKind.RATING, value=5, scale=5)).polarity
1.0
>>> signal_of(Feedback(kind=FeedbackKind.CORRECTION, text="The answer is 4.")).pair
True
"""

from __future__ import annotations

from typing import NamedTuple

from uno_models.events import Feedback, FeedbackKind


class Signal(NamedTuple):
    """What one piece of feedback says: polarity in [-1, 1], weight, whether it has text to distil,
    and whether it yields a preference pair directly."""

    polarity: float
    weight: float
    verbal: bool
    pair: bool


# Implicit signals are weak and noisy: a copy is mild approval, a regenerate mild disapproval.
_FIXED = {
    FeedbackKind.TEXT: Signal(0.0, 1.0, True, False),  # polarity is decided by the distiller
    FeedbackKind.CORRECTION: Signal(-1.0, 1.0, True, True),
    FeedbackKind.EDIT: Signal(-0.5, 1.0, True, True),
    FeedbackKind.REGENERATE: Signal(-0.5, 0.5, False, False),
    FeedbackKind.COPY: Signal(0.5, 0.3, False, False),
    FeedbackKind.ABANDON: Signal(-0.3, 0.3, False, False),
}


def signal_of(feedback: Feedback) -> Signal:
    """Polarity and weight of one piece of (already validated) feedback."""
    kind = feedback.kind
    if kind is FeedbackKind.RATING:
        lo, hi = feedback.scale_min, feedback.scale
        assert feedback.value is not None and hi is not None
        return Signal(2.0 * (feedback.value - lo) / (hi - lo) - 1.0, 1.0, False, False)
    if kind is FeedbackKind.THUMBS:
        assert feedback.value is not None
        return Signal(float(feedback.value), 1.0, False, False)
    return _FIXED[kind]


def satisfaction(feedback: list[Feedback]) -> float | None:
    """Weighted mean polarity of a log's feedback mapped to [0, 1]; None when it has no feedback."""
    total = weight = 0.0
    for fb in feedback:
        if fb.kind is FeedbackKind.TEXT:  # no polarity until an LLM reads it
            continue
        s = signal_of(fb)
        total += s.polarity * s.weight
        weight += s.weight
    if weight == 0.0:
        return None
    return (total / weight + 1.0) / 2.0
