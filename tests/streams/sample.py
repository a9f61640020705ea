"""Small, hand-written event streams for the streaming tests (clearly synthetic)."""

from __future__ import annotations

import json

LEGAL = [
    "What is the penalty for theft under the criminal law?",
    "Can my landlord evict me without notice?",
    "Is a verbal contract legally binding?",
    "What are my rights if I am arrested?",
    "How long does a copyright last?",
    "Can I sue my employer for unpaid overtime?",
    "What happens if I break a lease early?",
    "Is it legal to record a phone call without consent?",
]
COOKING = [
    "How long should I boil an egg for a runny yolk?",
    "What is the best way to cook rice on a stove?",
    "How do I make a sourdough starter from scratch?",
    "Why does my bread come out dense?",
]
LEGAL_FEEDBACK = [
    "Please cite the specific statute article that applies.",
    "Cite the law article number.",
    "You should name the article of the law.",
    "Give the verdict first, then explain.",
]
COOKING_FEEDBACK = ["Give exact times and temperatures.", "Please list the steps as a numbered list."]


def interactions(
    namespace: str, prefix: str = "e", n_legal: int = 8, n_cooking: int = 0, t0: float = 1.7e9, feedback: bool = True
) -> list[dict]:
    events = []
    for i in range(n_legal):
        fb = [{"kind": "text", "text": LEGAL_FEEDBACK[i % len(LEGAL_FEEDBACK)], "user_id": f"u{i % 4}"}]
        if i % 4 == 1:
            fb = [
                {
                    "kind": "correction",
                    "text": "Under Article 264 of the Criminal Law, theft is punishable.",
                    "user_id": f"u{i % 4}",
                }
            ]
        events.append(
            {
                "event_id": f"{prefix}-legal-{i}",
                "namespace": namespace,
                "timestamp": t0 + i,
                "user_id": f"u{i % 4}",
                "query": LEGAL[i % len(LEGAL)],
                "response": "It depends.",
                "feedback": fb if feedback else [],
            }
        )
    for i in range(n_cooking):
        events.append(
            {
                "event_id": f"{prefix}-cook-{i}",
                "namespace": namespace,
                "timestamp": t0 + 100 + i,
                "user_id": f"c{i % 3}",
                "query": COOKING[i % len(COOKING)],
                "response": "Cook it well.",
                "feedback": [{"kind": "text", "text": COOKING_FEEDBACK[i % 2]}] if feedback else [],
            }
        )
    return events


def jsonl(events: list[dict]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)
