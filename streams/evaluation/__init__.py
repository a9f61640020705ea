"""Evaluation: the simulator (`uno simulate`), the scoring run (`uno eval`), the demo (`uno demo`),
the runner they share (a real worker on the local stack, and a progress view), and the bundled
simulated sample under ``data/``.

Everything here is for developers and evaluators. It may import every other room (the dev stack to
start services, the client to ask the worker); no production room imports it.
"""

from pathlib import Path

DEMO_SAMPLE = Path(__file__).resolve().parent / "data" / "demo-sample.jsonl"
REPLAY_QUERIES = Path(__file__).resolve().parents[3] / "shared" / "data" / "uno-replay" / "queries.jsonl"
