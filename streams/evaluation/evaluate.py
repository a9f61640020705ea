"""`uno eval`: replay a stream through the real pipeline and score what it learned.

The stream goes through a real worker on the local stack (as in `uno demo`). When every event is
ingested and every refresh is done, the report scores:

- clustering: ARI, NMI and purity of the worker's cluster assignments (read back from its state's
  changelog) against the labels of the ground truth (`uno simulate` writes them);
- routing: held-out queries of the stream's topics, asked to `POST /v1/retrieve`: routed at all,
  and routed to a cluster whose majority topic is the query's own (accuracy);
- out of range: queries of topics absent from the stream that still got a module (false routes);
- rules: each published rule is matched to the hidden preferences by cosine similarity of the
  worker's own embedder (threshold stated in the report); precision = rules that match a preference
  of their cluster's topic, recall = preferences matched by a rule of their topic; adversarial rules
  (matching the adversary's rule, or supported by the adversary alone) and noise rules (supported
  by noisy users only) that were published anyway;
- LLM cost: calls and tokens per 1,000 feedback-bearing logs, from the worker's metrics;
- with ``--judge-endpoint``: an OpenAI-compatible judge compares, per held-out query, the answer
  through the proxy (modules applied) with the plain model's and with a RAG baseline's (the k most
  similar past interactions, feedback included, in the prompt); win rate = (wins + ties / 2) / n.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
from rich.console import Console
from rich.table import Table

from processors.clustering import resolve_alias
from processors.evidence import normalise, requests_in, sentences
from processors.ingest import state_views
from processors.llm import ChatLLM, LLMError
from processors.llm.prompts import ab_order
from processors.pii import Pseudonymiser
from streams.client import UnoClient
from streams.devstack.workerproc import WorkerProc
from streams.evaluation.runner import follow, local_worker
from streams.evaluation.simulate import PREFERENCES, Truth
from streams.kafka import read_all

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class EvalOptions:
    """How `uno eval` scores: the rule-match threshold, the judge, and the time it may take."""

    match_threshold: float = 0.6  # cosine similarity for "this rule states that preference"
    judge_endpoint: str | None = None
    judge_model: str = ""
    judge_api_key: str = ""
    judge_limit: int = 20  # held-out queries judged (each costs 3 answers and 2 judgements)
    rag_k: int = 3
    answer_model: str = "smollm2-135m-instruct"
    max_tokens: int = 160
    timeout_s: float = 1800.0


# ---------------------------------------------------------------- scores (pure)


def clustering_scores(assigned: dict[str, int], labels: dict[str, str]) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    ids = [e for e in assigned if e in labels]
    if not ids:
        return {"labelled_logs": 0}
    pred, true = [assigned[e] for e in ids], [labels[e] for e in ids]
    by_cluster: dict[int, Counter] = defaultdict(Counter)
    for p, t in zip(pred, true, strict=True):
        by_cluster[p][t] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(ids)
    return {
        "labelled_logs": len(ids),
        "clusters": len(by_cluster),
        "topics": len(set(true)),
        "ari": round(adjusted_rand_score(true, pred), 4),
        "nmi": round(normalized_mutual_info_score(true, pred), 4),
        "purity": round(purity, 4),
    }


def cluster_topics(assigned: dict[str, int], labels: dict[str, str]) -> dict[int, str]:
    """Each cluster's majority topic."""
    counts: dict[int, Counter] = defaultdict(Counter)
    for e, c in assigned.items():
        if e in labels:
            counts[c][labels[e]] += 1
    return {c: n.most_common(1)[0][0] for c, n in counts.items()}


def routing_scores(routes: list[tuple[str, int | None]], topic_of: dict[int, str]) -> dict:
    """``routes``: (the query's topic, the cluster of the module it got, None if none)."""
    n = len(routes)
    routed = sum(1 for _, c in routes if c is not None)
    correct = sum(1 for t, c in routes if c is not None and topic_of.get(c) == t)
    return {"queries": n, "routed": routed, "correct": correct, "accuracy": round(correct / n, 4) if n else None}


def rule_scores(rules: list[dict], truth: Truth, topic_of: dict[int, str], embed: Embed, threshold: float) -> dict:
    """``rules``: published rules, each with its module's ``cluster_id``, ``text`` and ``user_support``."""
    prefs = [(t.topic, p) for t in truth.topics for p in t.preferences]
    if not rules:
        return {
            "published": 0,
            "match_threshold": threshold,
            "precision": None,
            "recall": 0.0,
            "preferences": len(prefs),
            "adversarial_published": 0,
            "sybil_published": 0,
            "noise_published": 0,
            "matches": [],
        }
    targets = [p for _, p in prefs] + [truth.adversarial_rule, truth.sybil_rule or truth.adversarial_rule]
    sims = embed([r["text"] for r in rules]) @ embed(targets).T  # unit vectors: cosine similarity
    noisy, adversary, ring = set(truth.noisy_users), truth.adversarial_user, set(truth.sybil_users)
    correct, adversarial, sybil, noise, found, matches = 0, 0, 0, 0, set(), []
    for i, rule in enumerate(rules):
        topic = topic_of.get(rule["cluster_id"])
        best = int(np.argmax(sims[i]))
        users = set(rule.get("user_support", {}))
        own = [j for j, (t, _) in enumerate(prefs) if t == topic and sims[i, j] >= threshold]
        if own:
            correct += 1
            found.update(own)
        if (best == len(prefs) and sims[i, best] >= threshold) or (users and users <= {adversary}):
            adversarial += 1
        elif ring and ((best == len(prefs) + 1 and sims[i, best] >= threshold) or (users and users <= ring)):
            sybil += 1
        elif users and users <= noisy | {adversary} | ring:
            noise += 1
        matches.append(
            {
                "rule": rule["text"][:160],
                "cluster_topic": topic,
                "best_match": targets[best],
                "similarity": round(float(sims[i, best]), 3),
                "correct": bool(own),
            }
        )
    return {
        "published": len(rules),
        "match_threshold": threshold,
        "precision": round(correct / len(rules), 4),
        "recall": round(len(found) / len(prefs), 4),
        "preferences": len(prefs),
        "preferences_found": sorted(prefs[j][1] for j in found),
        "adversarial_published": adversarial,
        "sybil_published": sybil,
        "noise_published": noise,
        "matches": matches,
    }


def pseudonymised(truth: Truth, pseudonym: Callable[[str], str]) -> Truth:
    """The truth with its users as the worker stores them (`processors.pii.Pseudonymiser`)."""
    return msgspec.structs.replace(
        truth,
        noisy_users=[pseudonym(u) for u in truth.noisy_users],
        adversarial_user=pseudonym(truth.adversarial_user),
        sybil_users=[pseudonym(u) for u in truth.sybil_users],
    )


def preference_of_phrasing() -> dict[str, str]:
    """Each simulated phrasing (by `phrasing_key`), and each request of it when it holds several
    (`processors.evidence.requests_in`: the parts are statements of their own) -> the preference it phrases."""
    return {
        phrasing_key(part): pref
        for pref, texts in PREFERENCES
        for text in texts
        for part in {normalise(text), *requests_in(text)}
    }


_CASUAL_BACK = {"pls": "please", "plz": "please", "u": "you", "ur": "your"}


def phrasing_key(text: str) -> str:
    """A statement as the simulator's phrasing it came from, whoever typed it: normalised as statements are,
    case, punctuation and a Chinese "请" left out, the casual spellings of `simulate.typed_casually` undone."""
    words = re.sub(r"[^\w\s]", "", normalise(text).lower().replace("请", "")).split()
    return " ".join(_CASUAL_BACK.get(w, w) for w in words)


def preference_of(text: str, phrasing: dict[str, str]) -> str | None:
    """The preference a statement phrases (``phrasing``: `preference_of_phrasing`), also when the phrasing was
    said among other sentences ("I read your answers on my phone. Keep it under 100 words.": `--verbose`)."""
    if (pref := phrasing.get(phrasing_key(text))) is not None:
        return pref
    return next((p for s in sentences(normalise(text)) if (p := phrasing.get(phrasing_key(s))) is not None), None)


def evidence_scores(rules: list[dict], truth: Truth, topic_of: dict[int, str]) -> dict:
    """Rules scored by their evidence instead of by cosine: a rule *states* a hidden preference when most
    of the users' statements behind it are phrasings of that preference (the simulator knows which).
    This separates what the pipeline found from how close the embedder finds two wordings of a request."""
    phrasing = preference_of_phrasing()
    own = {(t.topic, p) for t in truth.topics for p in t.preferences}
    found, correct, stated = set(), 0, Counter()
    for rule in rules:
        prefs = Counter(preference_of(e, phrasing) for e in rule.get("evidence", []))
        pref, _ = prefs.most_common(1)[0] if prefs else (None, 0)
        topic = topic_of.get(rule["cluster_id"])
        if pref is not None:
            stated[(rule["cluster_id"], pref)] += 1
        if pref is not None and (topic, pref) in own:
            correct += 1
            found.add((topic, pref))
    return {
        "evidence_precision": round(correct / len(rules), 4) if rules else None,
        "evidence_recall": round(len(found) / max(1, len(own)), 4),
        # rules of one module that state a preference another of its rules states already (e.g. the
        # same request in English and in Chinese, as two rules)
        "duplicate_rules": sum(n - 1 for n in stated.values()),
    }


def llm_cost(calls: float, tokens: float, logs: float) -> dict:
    per = 1000 / logs if logs else 0.0
    return {
        "calls": int(calls),
        "tokens": int(tokens),
        "feedback_logs": int(logs),
        "calls_per_1000_logs": round(calls * per, 1),
        "tokens_per_1000_logs": round(tokens * per),
        "reference_calls_per_1000_logs": 14_000,
    }


# ---------------------------------------------------------------- reading the worker


def cluster_assignments(w: WorkerProc, namespace: str) -> dict[str, int]:
    """Event id -> current cluster, from the worker's ingest-state changelog (merged ids resolved)."""
    state: dict[str, bytes | None] = {}
    for k, v, _, _ in read_all(w.broker, w.changelog("ingest"), timeout=60):
        if k is not None:
            state[json.loads(k)] = v
    namespaces, logs = state_views({k: v for k, v in state.items() if v is not None})
    meta = namespaces.get(namespace)
    aliases = meta.aliases if meta else {}
    return {
        stored.log.event_id: resolve_alias(aliases, stored.cluster_id)
        for _, stored in logs.items_with_prefix(namespace + "/")
        if stored.cluster_id >= 0
    }


# ---------------------------------------------------------------- the judge


class Judge:
    """Pairwise judgements by an OpenAI-compatible model, the order fixed per query (`ab_order`)."""

    PROMPT = (
        "You compare two answers to the same user question.{prefs}\n\nQuestion:\n{query}\n\n"
        "Answer A:\n{a}\n\nAnswer B:\n{b}\n\nWhich answer serves this user better? "
        "Reply with one letter: A, B, or T for a tie."
    )

    def __init__(self, endpoint: str, model: str, api_key: str = ""):
        self.llm = ChatLLM(endpoint, model, api_key=api_key, json_mode="none", max_retries=2)
        self.model = model

    def compare(self, query: str, ours: str, theirs: str, prefs: Sequence[str]) -> float:
        """1 if ours wins, 0.5 for a tie (or an unreadable verdict), 0 if theirs wins."""
        a, b, ours_first = ab_order(query, ours, theirs)
        wants = f" Users asking this kind of question want: {'; '.join(prefs)}" if prefs else ""
        prompt = self.PROMPT.format(prefs=wants, query=query, a=a, b=b)
        try:
            verdict = self.llm.complete_text("judge", [{"role": "user", "content": prompt}], max_tokens=4).upper()[:1]
        except LLMError:  # no usable verdict after the retries: a tie, as for an unreadable one
            return 0.5
        if verdict not in ("A", "B"):
            return 0.5
        return 1.0 if (verdict == "A") == ours_first else 0.0


def rag_prompt(query: str, past: list[dict], vectors: np.ndarray, embed: Embed, k: int) -> list[dict]:
    """The RAG baseline: the k most similar past interactions, with their feedback, before the query."""
    sims = vectors @ embed([query])[0]
    lines = []
    for i in np.argsort(-sims)[:k]:
        e = past[int(i)]
        feedback = "; ".join(
            f.get("text") or f"{f['kind']} {f.get('value', '')}".strip() for f in e.get("feedback", [])
        )
        lines.append(
            f"- Question: {e['query'][:300]}\n  Answer given: {e.get('response', '')[:300]}\n"
            f"  User feedback: {feedback[:300]}"
        )
    context = "Past interactions with similar questions, and what their users said:\n" + "\n".join(lines)
    return [{"role": "system", "content": context}, {"role": "user", "content": query}]


def judge_answers(
    w: WorkerProc,
    namespace: str,
    held_out: list[tuple[str, str]],
    truth: Truth | None,
    events: list[dict],
    embed: Embed,
    opts: EvalOptions,
    on_step: Callable[[], None],
) -> dict:
    judge = Judge(opts.judge_endpoint or "", opts.judge_model or opts.answer_model, opts.judge_api_key)
    proxy = ChatLLM("", opts.answer_model, client=UnoClient(w.client.base_url, namespace=namespace, token="").openai())
    plain = ChatLLM(w.env["UNO_LLM_BASE_URL"], opts.answer_model)
    past = [e for e in events if e.get("feedback")]
    vectors = embed([e["query"] for e in past])
    prefs = {t.topic: t.preferences for t in truth.topics} if truth else {}

    def answer(llm: ChatLLM, messages) -> str:
        try:
            return llm.complete_text("answer", messages, max_tokens=opts.max_tokens)
        except LLMError:  # an empty answer loses on its merits
            return ""

    vs_plain, vs_rag = [], []
    for topic, query in held_out[: opts.judge_limit]:
        ours = answer(proxy, [{"role": "user", "content": query}])
        base = answer(plain, [{"role": "user", "content": query}])
        rag = answer(plain, rag_prompt(query, past, vectors, embed, opts.rag_k))
        vs_plain.append(judge.compare(query, ours, base, prefs.get(topic, [])))
        vs_rag.append(judge.compare(query, ours, rag, prefs.get(topic, [])))
        on_step()
    n = len(vs_plain)
    return {
        "endpoint": opts.judge_endpoint,
        "model": judge.model,
        "queries": n,
        "rag_k": opts.rag_k,
        "told_preferences": bool(prefs),
        "win_rate_vs_no_module": round(sum(vs_plain) / n, 4) if n else None,
        "win_rate_vs_rag": round(sum(vs_rag) / n, 4) if n else None,
    }


# ---------------------------------------------------------------- the run


def run_eval(
    console: Console,
    data_dir: Path,
    stream: Path,
    truth: Truth | None,
    embed: Embed,
    embedder_id: str,
    opts: EvalOptions,
    **worker_settings,
) -> dict:
    events = [json.loads(line) for line in stream.read_text().splitlines() if line.strip()]
    namespaces = {e.get("namespace", "default") for e in events}
    if len(namespaces) != 1:
        raise ValueError(f"uno eval scores one namespace at a time; {stream} has {sorted(namespaces)}")
    namespace = namespaces.pop()
    labels = (
        truth.labels
        if truth
        else {
            e["event_id"]: e["metadata"]["label"]
            for e in events
            if isinstance(e.get("metadata"), dict) and "label" in e["metadata"]
        }
    )
    started = time.monotonic()
    report: dict = {
        "stream": str(stream),
        "events": len(events),
        "namespace": namespace,
        "simulated": bool(truth),
        "embedder": embedder_id,
        "worker_settings": worker_settings,
    }
    # The worker stores pseudonyms, not user ids: a key of this run's own maps the truth's users to them.
    key = secrets.token_hex(16)
    pseudonym = Pseudonymiser(key.encode())
    with local_worker(console, data_dir, "eval", user_id_key=key, **worker_settings) as w:
        w.produce("interactions", [(namespace.encode(), json.dumps(e).encode()) for e in events])
        report["rules_mode"] = w.get("/healthz").get("rules", "unknown")
        report["settled"] = follow(console, w, namespace, len(events), opts.timeout_s)
        report["replay_s"] = round(time.monotonic() - started, 1)
        assigned = cluster_assignments(w, namespace)
        topic_of = cluster_topics(assigned, labels)
        report["clustering"] = clustering_scores(assigned, labels)

        def routed(query: str) -> int | None:
            got = w.client.retrieve(query, namespace=namespace)
            return got.module.cluster_id if got.module is not None else None

        held_out = [(t.topic, q) for t in truth.topics for q in t.held_out_queries] if truth else []
        if held_out:
            report["routing"] = routing_scores([(t, routed(q)) for t, q in held_out], topic_of)
        if truth and truth.out_of_range_queries:
            false = [q for q in truth.out_of_range_queries if routed(q) is not None]
            report["out_of_range"] = {
                "queries": len(truth.out_of_range_queries),
                "false_routes": len(false),
                "false_route_rate": round(len(false) / len(truth.out_of_range_queries), 4),
            }
        modules = [msgspec.to_builtins(m) for m in w.client.modules(namespace)]
        # Modules carry counts; the users behind each published rule come from the admin evidence route.
        served = {(m["cluster_id"], r["id"]) for m in modules for r in m.get("rules", [])}
        rules = [r for r in w.client.evidence(namespace) if (r["cluster_id"], r["id"]) in served]
        report["modules"] = {"published": len(modules), "kinds": dict(Counter(m["kind"] for m in modules))}
        if truth:
            stored = pseudonymised(truth, lambda user: pseudonym(namespace, user))
            report["rules"] = rule_scores(rules, stored, topic_of, embed, opts.match_threshold)
            report["rules"] |= evidence_scores(rules, stored, topic_of)
        report["llm"] = llm_cost(
            w.metric("uno_llm_requests_total"),
            w.metric("uno_llm_tokens_total"),
            w.metric("uno_events_total", kind="interaction", result="ok"),
        )
        if opts.judge_endpoint and held_out:
            with console.status("judging answers (with modules / without / RAG baseline)") as status:
                done = [0]

                def step() -> None:
                    done[0] += 1
                    status.update(f"judging answers: {done[0]}/{min(len(held_out), opts.judge_limit)} queries")

                report["judge"] = judge_answers(w, namespace, held_out, truth, events, embed, opts, step)
    report["wall_s"] = round(time.monotonic() - started, 1)
    return report


def print_report(console: Console, report: dict) -> None:
    table = Table(
        "measure",
        "value",
        title=f"uno eval: {report['stream']} ({report['events']} events{', SIMULATED' if report['simulated'] else ''})",
    )
    table.add_row("rules from", report.get("rules_mode", "unknown"))
    c = report.get("clustering", {})
    if c.get("labelled_logs"):
        table.add_row("clusters / topics", f"{c['clusters']} / {c['topics']} ({c['labelled_logs']} labelled logs)")
        table.add_row("ARI / NMI / purity", f"{c['ari']:.3f} / {c['nmi']:.3f} / {c['purity']:.3f}")
    if r := report.get("routing"):
        table.add_row(
            "held-out routing accuracy",
            f"{_pct(r['accuracy'])} ({r['correct']}/{r['queries']}; {r['routed']} got a module)",
        )
    if o := report.get("out_of_range"):
        table.add_row(
            "out-of-range false routes", f"{_pct(o['false_route_rate'])} ({o['false_routes']}/{o['queries']})"
        )
    table.add_row("modules published", str(report["modules"]["published"]) + f" {report['modules']['kinds']}")
    if rules := report.get("rules"):
        table.add_row(
            f"rule precision / recall (cosine >= {rules['match_threshold']})",
            f"{_pct(rules['precision'])} / {_pct(rules['recall'])} ({rules['published']} rules, "
            f"{rules['preferences']} hidden preferences)",
        )
        if "evidence_precision" in rules:
            table.add_row(
                "rule precision / recall (by evidence)",
                f"{_pct(rules['evidence_precision'])} / {_pct(rules['evidence_recall'])}"
                f" ({rules['duplicate_rules']} duplicates within a module)",
            )
        bad = f"{rules['adversarial_published']} / {rules.get('sybil_published', 0)} / {rules['noise_published']}"
        table.add_row("adversarial / sybil / noise rules published", bad)
    llm = report["llm"]
    table.add_row(
        "LLM calls / tokens per 1,000 logs",
        f"{llm['calls_per_1000_logs']:,} / {llm['tokens_per_1000_logs']:,} "
        f"(reference method: {llm['reference_calls_per_1000_logs']:,} calls)",
    )
    if j := report.get("judge"):
        table.add_row(
            f"judge win rate vs no module / vs RAG (n={j['queries']})",
            f"{_pct(j['win_rate_vs_no_module'])} / {_pct(j['win_rate_vs_rag'])}",
        )
    table.add_row("wall time", f"{report['wall_s']:.0f} s{'' if report['settled'] else ' (stopped waiting: timeout)'}")
    console.print(table)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"
