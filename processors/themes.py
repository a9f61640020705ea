"""Feedback themes: the users' own statements, grouped by meaning, weighed by who said them.

The idea in plain words. Inside a query cluster, every verbal request (`processors.evidence`) is
embedded (its *core*: the request without a negation) and joins the theme whose centre it is most
similar to, or opens a new theme below ``similarity``. "Lead with the conclusion", "Give me the
answer first" and "先说结论" join one theme; "Don't lead with the conclusion" joins it too, *against*
it. A theme is the candidate for one rule, and the rule's text is chosen from the evidence: the
medoid of the statements on the theme's majority side (the statement most like all the others),
never generated.

Who said it matters as much as what. Each user of the cluster gets a reliability, re-estimated at
every refresh from the whole evidence (a few rounds of agreement, as in truth discovery): a user who
sides with what other reliable users ask for gains weight; one who keeps contradicting the
consensus, or writes chatter and off-topic remarks ("lol", "the site is slow"), loses it. A theme
then reports, on its rule:

- ``support`` / ``user_support``: logs and users on its majority side (one log counts once);
- ``harmful``: logs on the other side; ``against_share``: the reliability-weighted share against;
- ``reliable_users``: the summed reliability of its supporters;
- ``independent_users``: supporters with feedback in the cluster beyond this theme (a ring of fresh
  ids that only push one rule has none);
- ``directive``: whether most of its statements are requests about the answer;
- ``promotion``: whether its evidence pushes a link, a contact, a brand or a product;
- ``injection``: whether some of its statements embed next to a prompt injection
  (`processors.noise.InjectionProbe`: the patterns miss new phrasings and other languages).

`processors.noise.NoiseFilter` decides from those fields. Nothing here calls an LLM.

>>> from processors.embedders.hashing import HashingEmbedder
>>> from uno_models import ClusterKnowledge, Feedback, FeedbackKind, LogRecord
>>> def log(i, user, text):
...     return LogRecord(event_id=f"e{i}", namespace="n", timestamp=float(i), user_id=user, query="q",
...                      feedback=[Feedback(kind=FeedbackKind.TEXT, text=text)])
>>> logs = [log(1, "u1", "Cite the statute article."), log(2, "u2", "Please cite the statute article."),
...         log(3, "u3", "Don't cite the statute article."), log(4, "u1", "lol")]
>>> book = ThemeBook(HashingEmbedder(256), similarity=0.5)
>>> out = book.update(ClusterKnowledge(namespace="n", cluster_id=0), logs, now=5.0)
>>> [(r.text, r.support, r.harmful, sorted(r.user_support)) for r in out.knowledge.rules]
[('Cite the statute article.', 2, 1, ['u1', 'u2'])]
>>> out.knowledge.users["u1"].chatter, out.log_rules
(1, {'e1': ['t0'], 'e2': ['t0'], 'e3': ['t0']})
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import msgspec
import numpy as np

from processors.embedders import Embedder
from processors.evidence import (
    Statement,
    is_cjk,
    is_courtesy,
    reads_as_english,
    reads_as_imperative,
    requests_in,
    sentences,
    spell_out,
    statement_of,
)
from processors.noise import INJECTION_SIMILARITY, InjectionProbe
from uno_models import ClusterKnowledge, FeedbackKind, LogRecord, Provenance, Rule, RuleStatus, Settings, satisfaction
from uno_models.knowledge import (
    MAX_EXEMPLAR_USERS,
    MAX_EXEMPLARS,
    MAX_PROVENANCE,
    MAX_THEMES,
    MAX_TRACKED_USERS,
    MAX_USER_POSITIONS,
    Exemplar,
    Theme,
    UserRecord,
)

ANONYMOUS = "anonymous"  # logs without a user id share one bucket: they can never look like many users


class ThemeOutcome(NamedTuple):
    """What one update changed: the new knowledge (a copy), the rules each log supported, the counts."""

    knowledge: ClusterKnowledge
    log_rules: dict[str, list[str]]  # event id -> ids of the themes its statements joined
    applied: Counter  # joined, opened, chatter, courtesy, duplicate, injection
    embedded: int  # texts embedded


class ThemeBook:
    """Groups a cluster's verbal feedback into themes and keeps one rule per theme; see the module docstring.

    Parameters
    ----------
    embedder
        Embeds statement cores; themes live in its vector space.
    similarity
        Cosine at or above which a statement joins a theme (tuned on the dev split, docs/benchmarks.md).
    merge_similarity
        Cosine at or above which two themes' centres merge them (centres of several statements are
        steadier than one statement; default: ``similarity``).
    merge_linkage
        The mean cosine between the two themes' statements, one of each, that a merge needs as well. The
        centres of grown themes drift together: under USE-m3, four ways of asking for headings and four
        of asking for prose have centres at cosine 0.49 while their statements average 0.27, and the
        prose request would lose its rule. 0 turns this off (docs/benchmarks.md).
    max_themes
        Cap per cluster; past it the least supported theme is dropped.
    max_exemplars
        Distinct statements kept per theme (the candidates for its text).
    rounds
        Rounds of the reliability estimate.
    injection_similarity
        Cosine to a prompt injection (`processors.noise.InjectionProbe`) at which a statement makes its
        theme's rule unpublishable, as a promotion does; 0 turns the probe off.
    """

    def __init__(
        self,
        embedder: Embedder,
        similarity: float = 0.6,
        merge_similarity: float | None = None,
        merge_linkage: float = 0.0,
        max_themes: int = MAX_THEMES,
        max_exemplars: int = 12,
        rounds: int = 3,
        injection_similarity: float = INJECTION_SIMILARITY,
    ):
        self.embedder = embedder
        self.similarity = similarity
        self.merge_similarity = similarity if merge_similarity is None else merge_similarity
        self.merge_linkage = merge_linkage
        self.max_themes = max_themes
        self.max_exemplars = max_exemplars
        self.rounds = rounds
        self.probe = InjectionProbe(embedder, injection_similarity)

    @classmethod
    def from_settings(cls, embedder: Embedder, s: Settings) -> ThemeBook:
        """Themes as the worker groups them (similarities tuned on the dev split)."""
        return cls(
            embedder,
            similarity=s.theme_similarity,
            merge_similarity=s.theme_merge_similarity,
            merge_linkage=s.theme_merge_linkage,
            injection_similarity=s.injection_similarity,
        )

    def update(self, knowledge: ClusterKnowledge, logs: Sequence[LogRecord], now: float) -> ThemeOutcome:
        knowledge = copy_knowledge(knowledge)
        applied: Counter = Counter()
        log_rules: dict[str, list[str]] = {}
        seen = {_as_key(e) for e in knowledge.recent_logs}
        fresh: list[tuple[LogRecord, Statement]] = []
        for log in logs:
            user = log.user_id or ANONYMOUS
            key = vote_key(log.event_id)
            if key not in seen and not log.late:  # a user's feedback logs in the cluster, each once
                record = knowledge.users.get(user)
                if record is None and len(knowledge.users) < MAX_TRACKED_USERS:
                    record = knowledge.users[user] = UserRecord(first_log=knowledge.logs_seen)
                if record is not None:
                    record.logs += 1
                    # a plain signal: no words, or only thanks and praise (a thumbs up with "great, thanks")
                    plain = all(is_courtesy(t) for t in verbal_texts(log))
                    record.signals += int(plain)
                    if len(record.at) < MAX_USER_POSITIONS:
                        record.at = [*record.at, knowledge.logs_seen]
                        if plain:
                            record.signal_at = [*record.signal_at, knowledge.logs_seen]
                knowledge.logs_seen += 1
                seen.add(key)
                knowledge.recent_logs = [*knowledge.recent_logs, key][-1024:]
            for text in verbal_texts(log):
                statement = statement_of(text)
                if statement.directive:
                    parts = requests_in(text)
                    fresh.append((log, statement, [statement_of(p) for p in parts] if len(parts) > 1 else []))
                    continue
                if is_courtesy(text):  # thanks and praise are on topic: they count against no one
                    applied["courtesy"] += 1
                    continue
                applied["chatter"] += 1
                if (record := knowledge.users.get(user)) is not None:
                    record.chatter += 1
            if log.late:
                _reapprove(knowledge, log)
        # feedback repeats itself: embed each text once
        cores = list(dict.fromkeys(c for _, s, parts in fresh for c in (s.core, *(p.core for p in parts))))
        vectors = self.embedder.embed(cores) if cores else np.zeros((0, self.embedder.dim), np.float32)
        by_core = dict(zip(cores, vectors, strict=True))
        injected = {c for c, flag in zip(cores, self.probe.flags(vectors), strict=True) if flag}
        centres = _Centres(knowledge.themes)
        for log, whole, parts in fresh:
            apart = bool(parts) and self._apart(centres.matrix, [by_core[p.core] for p in parts])
            for statement in parts if apart else [whole]:
                vector = by_core[statement.core]
                if statement.core in injected:
                    statement = statement._replace(injection=True)
                    applied["injection"] += 1
                theme, opened = self._theme_for(knowledge, centres.matrix, vector, now)
                if _voted(theme, log.event_id):
                    applied["duplicate"] += 1  # a log supports a theme once, also when late feedback re-sends it
                    continue
                applied["opened" if opened else "joined"] += 1
                _add(theme, log, statement, vector, self.max_exemplars)
                centres.moved(theme)
                log_rules.setdefault(log.event_id, []).append(theme.id)
        merged_into = _merge_close(knowledge.themes, self.merge_similarity, self.merge_linkage)
        if len(knowledge.themes) > self.max_themes:
            knowledge.themes = sorted(knowledge.themes, key=lambda t: -t.weight)[: self.max_themes]
        alive = {th.id for th in knowledge.themes}
        log_rules = {
            e: [t for t in dict.fromkeys(_follow(merged_into, t) for t in tids) if t in alive]
            for e, tids in log_rules.items()
        }
        touched = {tid for tids in log_rules.values() for tid in tids}
        independence = _Independence(knowledge)  # themes and users are final for this update
        embedded = len(cores) + self._choose_texts(knowledge, touched, independence)
        _weigh(knowledge, self.rounds, independence)
        return ThemeOutcome(knowledge, {e: t for e, t in log_rules.items() if t}, applied, embedded)

    def _apart(self, centres: np.ndarray, parts: list[np.ndarray]) -> bool:
        """Whether the requests of one feedback text (`processors.evidence.requests_in`) go to themes apart:
        when each is one the cluster's users already ask for, each in a theme of its own ("Keep it under 100
        words. Also cite the article." where users ask for both separately: as one statement it joined one
        theme and the other request was lost). Else the text stays whole: "Too long. Keep it under 100
        words." asks for one thing, and "Use the present tense and more sensory detail" may be one request."""
        if not len(centres):
            return False
        sims = np.stack(parts) @ centres.T
        best = sims.argmax(axis=1)
        return bool((sims.max(axis=1) >= self.similarity).all()) and len(set(best.tolist())) == len(parts)

    def fold(self, survivor: ClusterKnowledge, absorbed: ClusterKnowledge) -> ClusterKnowledge:
        """The survivor's knowledge with the absorbed cluster's themes, users and gap evidence folded in:
        themes that mean the same merge, and a log counted in both counts once."""
        knowledge = copy_knowledge(survivor)
        counted = {_as_key(e) for e in knowledge.recent_logs}
        for theme in copy_knowledge(absorbed).themes:
            theme.id = f"t{knowledge.next_rule}"
            knowledge.next_rule += 1
            theme.canonical = ""
            knowledge.themes.append(theme)
        for user, record in absorbed.users.items():
            mine = knowledge.users.get(user)
            if mine is None:
                if len(knowledge.users) < MAX_TRACKED_USERS:
                    knowledge.users[user] = msgspec.structs.replace(record)
                continue
            mine.logs += record.logs
            mine.signals += record.signals
            mine.chatter += record.chatter
            mine.first_log = min(mine.first_log, record.first_log)
            mine.at = sorted({*mine.at, *record.at})[:MAX_USER_POSITIONS]  # two clusters' counts: approximate
            mine.signal_at = sorted({*mine.signal_at, *record.signal_at})[:MAX_USER_POSITIONS]
        theirs = [_as_key(e) for e in absorbed.recent_logs]
        knowledge.recent_logs = list(dict.fromkeys([*map(_as_key, knowledge.recent_logs), *theirs]))[-1024:]
        knowledge.logs_seen += sum(1 for e in theirs if e not in counted)
        knowledge.gap_sum += absorbed.gap_sum
        knowledge.gap_logs += absorbed.gap_logs
        _merge_close(knowledge.themes, self.merge_similarity, self.merge_linkage)
        independence = _Independence(knowledge)
        self._choose_texts(knowledge, {t.id for t in knowledge.themes}, independence)
        _weigh(knowledge, self.rounds, independence)
        return knowledge

    @staticmethod
    def relabel(knowledge: ClusterKnowledge) -> None:
        """Rule texts again from their themes (after a rephrasing), in place."""
        texts = {t.id: rule_text(t) for t in knowledge.themes}
        for rule in knowledge.rules:
            rule.text = texts.get(rule.id) or rule.text

    # ------------------------------------------------------------------ internals

    def _theme_for(
        self, knowledge: ClusterKnowledge, centres: np.ndarray, vector: np.ndarray, now: float
    ) -> tuple[Theme, bool]:
        if knowledge.themes:
            sims = centres @ vector
            best = int(np.argmax(sims))
            if sims[best] >= self.similarity:
                return knowledge.themes[best], False
        theme = Theme(id=f"t{knowledge.next_rule}", vector=b"", first_seen=now, last_seen=now)
        knowledge.next_rule += 1
        knowledge.themes.append(theme)
        return theme, True

    def _choose_texts(self, knowledge: ClusterKnowledge, touched: set[str], independence: _Independence) -> int:
        """Each touched theme's canonical text: of its majority-side statements (and their sentences, so
        that "Too long. Keep it under 100 words." can give "Keep it under 100 words.") by independent users,
        those established by a request others share first (two or more), in the language most of them write, the
        one closest to the theme's centre among those that read as a plain instruction
        (`processors.evidence.reads_as_imperative`), or among all when none does."""
        embedded = 0
        for theme in knowledge.themes:
            sign = _sign(theme, independence)
            # chosen again when new evidence came, or when the side that prevails changed since
            if theme.id not in touched and theme.canonical and statement_of(theme.canonical).sign == sign:
                continue
            chosen = [
                e for e in theme.exemplars if e.sign == sign and not (e.promotion or e.injection)
            ] or theme.exemplars
            # Words of independent users only (when any): a ring of fresh ids whose request sits close to a
            # real one joins its theme, and could otherwise lend the rule its own words.
            established, voices, by_request = independence.support(independence.members[theme.id], theme)
            trusted = established or voices
            chosen = [e for e in chosen if not e.users or set(e.users) & trusted] or chosen
            cjk = sum(e.count for e in chosen if is_cjk(e.text)) * 2 > sum(e.count for e in chosen)
            # and words of users established by a request others share first, when two or more back the theme
            # (in that language when they wrote in it): plain signals cost nothing, and a ring that gave a few
            # thumbs up before it pushed its rule is established by them; one such user, though, can be a ring
            # member whose own request landed in a real theme
            vouched = [e for e in chosen if set(e.users) & by_request] if len(by_request) >= 2 else []
            chosen = [e for e in vouched or chosen if is_cjk(e.text) == cjk] or vouched
            texts = list(dict.fromkeys(t for e in chosen for t in _candidates(e.text, sign)))
            if len(texts) == 1:
                theme.canonical = tidy(texts[0])
                continue
            # each candidate is weighed as it would be published ("Please add headings" as "Add headings.")
            closeness = self.embedder.embed([tidy(t) for t in texts]) @ _unit(_vector(theme))
            embedded += len(texts)
            # a rule reads as an instruction: the plain imperatives first, when any
            plain = [i for i in range(len(texts)) if reads_as_imperative(texts[i])] or range(len(texts))
            best = min(plain, key=lambda i: (-round(float(closeness[i]), 4), len(texts[i])))
            theme.canonical = tidy(texts[best])
        return embedded


def _candidates(text: str, sign: int) -> list[str]:
    """A statement, and each of its sentences that is a request of the same polarity on its own."""
    parts = sentences(text)
    out = [text]
    if len(parts) > 1:
        for sentence in parts:
            statement = statement_of(sentence)
            if statement.directive and statement.sign == sign and (len(sentence.split()) >= 3 or is_cjk(sentence)):
                out.append(sentence)
    return out


def rule_text(theme: Theme) -> str:
    """The LLM's wording while it is faithful to the current canonical statement, else the statement."""
    return theme.rephrased if theme.rephrased and theme.rephrased_from == theme.canonical else theme.canonical


def verbal_texts(log: LogRecord) -> list[str]:
    """The requests a log carries: its ``text`` feedback (a correction's or edit's text is an answer)."""
    return [fb.text for fb in log.feedback if fb.kind is FeedbackKind.TEXT and fb.text and fb.text.strip()]


def tidy(text: str) -> str:
    """A user statement as rule text: no "please", a capital letter, closing punctuation, and English typed as
    in a chat box spelled out ("shorter paragraphs plz" -> "Shorter paragraphs.", "state how confident u are"
    -> "State how confident you are.")."""
    text = text.strip()
    english = reads_as_english(text)
    text = spell_out(text)
    for prefix in ("please ", "pls ", "plz ", "kindly "):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    text = text.strip(" ,")
    if text.lower().rstrip(".!").endswith((" please", ",please", " pls", " plz")):  # "Sound more professional please."
        text = text[: text.lower().rstrip(".!").rindex(" ")].rstrip(" ,")
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if english:  # typed in lower case: "in plain english" -> "in plain English"
        text = _LANGUAGE_NAME.sub(lambda m: m.group().capitalize(), text)
    if text[-1] not in ".!?。！？":
        text += "。" if _HAN_OR_KANA.search(text[-1]) else "."
    return text


_LANGUAGE_NAME = re.compile(
    r"\b(?:english|chinese|mandarin|cantonese|japanese|korean|french|spanish|german|italian|portuguese|russian"
    r"|arabic|dutch|polish|turkish|thai|hindi)\b"
)
_HAN_OR_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _add(theme: Theme, log: LogRecord, statement: Statement, vector: np.ndarray, max_exemplars: int) -> None:
    user = log.user_id or ANONYMOUS
    side = theme.users_for if statement.sign > 0 else theme.users_against
    if user in side or len(side) < MAX_TRACKED_USERS:
        side[user] = side.get(user, 0) + 1
    if statement.sign > 0:
        theme.logs_for += 1
    else:
        theme.logs_against += 1
    theme.weight += 1.0
    theme.vector = _pack(_vector(theme) + vector) if theme.vector else _pack(vector)
    theme.directive += 1
    theme.promotion += int(statement.promotion)
    theme.injection += int(statement.injection)
    theme.approved += int(_approves(log))
    theme.votes = [*theme.votes, (vote_key(log.event_id), user, statement.sign)][-256:]
    theme.last_seen = max(theme.last_seen, log.timestamp)
    if log.provenance is not None:
        theme.provenance = merge_provenance(theme.provenance, log.provenance)
    for exemplar in theme.exemplars:
        if exemplar.text.lower() == statement.text.lower() and exemplar.sign == statement.sign:
            exemplar.count += 1
            if user not in exemplar.users and len(exemplar.users) < MAX_EXEMPLAR_USERS:
                exemplar.users = [*exemplar.users, user]
            return
    exemplar = Exemplar(
        text=statement.text,
        sign=statement.sign,
        count=1,
        promotion=statement.promotion,
        injection=statement.injection,
        users=[user],
    )
    if len(theme.exemplars) < max_exemplars:
        theme.exemplars.append(exemplar)
    else:  # keep the most repeated statements
        weakest = min(range(len(theme.exemplars)), key=lambda i: theme.exemplars[i].count)
        if theme.exemplars[weakest].count <= 1:
            theme.exemplars[weakest] = exemplar


def vote_key(event_id: str) -> int:
    """A log as a theme's votes keep it: 8 bytes of its event id's BLAKE2b digest, not the id (a UUID is 36
    characters, and a theme keeps 256 votes)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "little")


def _as_key(log: str | int) -> int:
    """A log as votes keep it, from a record written before they kept keys (an event id) or after."""
    return log if isinstance(log, int) else vote_key(log)


def _voted(theme: Theme, event_id: str) -> bool:
    key = vote_key(event_id)
    return any(_as_key(v[0]) == key for v in theme.votes)


def _approves(log: LogRecord) -> bool:
    """Whether the log's feedback, all of it, approved the answer (a thumbs up, a copy): a late comment carries
    only itself, but was made beside the thumbs up that came before it."""
    whole = log.satisfaction if log.satisfaction is not None else satisfaction(log.feedback)
    return (whole or 0.0) > 0.5


def _reapprove(knowledge: ClusterKnowledge, log: LogRecord) -> None:
    """A late signal that turns the log's feedback approving (a thumbs up after the comment) or not (a thumbs
    down after the thumbs up): the themes its statements joined before count them so from now on."""
    before, now = (log.earlier_satisfaction or 0.0) > 0.5, _approves(log)
    if before == now:
        return
    for theme in knowledge.themes:
        if _voted(theme, log.event_id):
            theme.approved = max(0, theme.approved + (1 if now else -1))


def _follow(merged_into: dict[str, str], theme_id: str) -> str:
    while theme_id in merged_into:
        theme_id = merged_into[theme_id]
    return theme_id


def _merge_close(themes: list[Theme], similarity: float, linkage: float = 0.0) -> dict[str, str]:
    """Themes whose centres drifted together become one (the lighter folds into the heavier), when their
    statements are also ``linkage`` close on average; returns absorbed id -> survivor id.

    A theme's vector is the sum of its statements' unit vectors, so the mean cosine between the statements
    of two themes is the dot product of their sums over the product of their statement counts."""
    merged_into: dict[str, str] = {}
    merged = True
    while merged and len(themes) > 1:
        merged = False
        sums = np.stack([_vector(t) for t in themes])
        centres = _unit_rows(sums)
        sims = centres @ centres.T
        if linkage:
            counts = np.array([max(1.0, t.weight) for t in themes])
            sims[(sums @ sums.T) / np.outer(counts, counts) < linkage] = -1.0
        np.fill_diagonal(sims, -1.0)
        i, j = divmod(int(np.argmax(sims)), len(themes))
        if sims[i, j] >= similarity:
            keep, drop = (i, j) if themes[i].weight >= themes[j].weight else (j, i)
            _fold(themes[keep], themes[drop])
            merged_into[themes[drop].id] = themes[keep].id
            del themes[drop]
            merged = True
    return merged_into


def _fold(into: Theme, other: Theme) -> None:
    counted = {_as_key(v[0]) for v in into.votes}
    for log, user, sign in other.votes:  # a log both themes counted supports the merged one once
        if _as_key(log) in counted:
            side = other.users_for if sign > 0 else other.users_against
            if side.get(user, 0) > 1:
                side[user] -= 1
            else:
                side.pop(user, None)
            if sign > 0:
                other.logs_for = max(0, other.logs_for - 1)
            else:
                other.logs_against = max(0, other.logs_against - 1)
            other.weight = max(0.0, other.weight - 1.0)
    for side, extra in ((into.users_for, other.users_for), (into.users_against, other.users_against)):
        for user, n in extra.items():
            side[user] = side.get(user, 0) + n
    into.logs_for += other.logs_for
    into.logs_against += other.logs_against
    into.weight += other.weight
    into.vector = _pack(_vector(into) + _vector(other))
    into.directive += other.directive
    into.promotion += other.promotion
    into.injection += other.injection
    into.approved += other.approved
    into.votes = [*into.votes, *(v for v in other.votes if _as_key(v[0]) not in counted)][-256:]
    into.first_seen = min(into.first_seen, other.first_seen)
    into.last_seen = max(into.last_seen, other.last_seen)
    for p in other.provenance:
        into.provenance = merge_provenance(into.provenance, p)
    into.exemplars = sorted([*into.exemplars, *other.exemplars], key=lambda e: -e.count)[:MAX_EXEMPLARS]
    into.canonical = ""  # chosen again from the merged evidence


def _sides(theme: Theme) -> tuple[dict[str, int], dict[str, int]]:
    """The theme's users for and against it, each user on one side: where most of their statements are,
    and on a tie, for. A user who asks "Use honorifics" and "Don't speak casually" ("반말은 하지 말아 주세요")
    asks one thing twice: the negation's core ("speak casually") embeds next to its antonym and joins the
    theme, and counting the user against it too made the users who asked for a rule look split on it."""
    both = theme.users_for.keys() & theme.users_against.keys()
    if not both:
        return theme.users_for, theme.users_against
    pro = {u: n for u, n in theme.users_for.items() if u not in both or n >= theme.users_against[u]}
    con = {u: n for u, n in theme.users_against.items() if u not in both or n > theme.users_for[u]}
    return pro, con


def _weight(users, weights: dict[str, float]) -> float:
    """The users' summed reliability (0.5 for a user with no record)."""
    return sum(weights.get(u, 0.5) for u in users)


def _heard(
    users: dict[str, int], theme: Theme, independence: _Independence, weights: dict[str, float], crowds: bool = False
) -> float:
    """One side of ``theme`` as it weighs against the other: its independent users (`_Independence.heard`) by
    reliability; with ``crowds``, each burst of its other fresh users as one more voice (0.5). A ring of fresh
    ids that arrives together to write "Don't ..." against what real users ask is no voice against it (as it
    would be none for it), and one at most when it comes to which side a theme is on."""
    independent, bursts = independence.heard(users, theme)
    return _weight(independent, weights) + (0.5 * bursts if crowds else 0.0)


def _sign(theme: Theme, independence: _Independence, weights: dict[str, float] | None = None) -> int:
    """+1 when the theme's users for it outweigh those against it as they are heard (`_heard`; by reliability
    ``weights``, 0.5 each by default), -1 when those against do; on a tie, by all of their users. The fresh ids
    of a burst are one voice here: one-time commenters of a busy stream who ask alike are not outweighed by two
    noisy regulars writing against them."""
    w = weights or {}
    users_for, users_against = _sides(theme)
    pro, con = (_heard(side, theme, independence, w, crowds=True) for side in (users_for, users_against))
    if pro == con:
        pro, con = _weight(users_for, w), _weight(users_against, w)
    return 1 if pro >= con else -1


def _weigh(knowledge: ClusterKnowledge, rounds: int, independence: _Independence) -> None:
    """Reliability per user (agreement with the weighted consensus), then each theme's rule fields.

    A theme is weighed with its users' reliability earned *elsewhere* (leave this theme out): otherwise
    whoever is in a theme's minority would lose weight for being in it, and no theme could ever look
    split."""
    users = knowledge.users
    weights = dict.fromkeys(users, 0.5)
    per_theme: dict[str, dict[str, tuple[int, int]]] = {}
    sides = {t.id: _sides(t) for t in knowledge.themes}
    for _ in range(rounds):
        agree: Counter = Counter()
        disagree: Counter = Counter()
        per_theme = {}
        for theme in knowledge.themes:
            users_for, users_against = sides[theme.id]
            pro, con = _weight(users_for, weights), _weight(users_against, weights)
            # a consensus a user goes against is one of independent users
            heard_pro, heard_con = (_heard(side, theme, independence, weights) for side in sides[theme.id])
            marks = per_theme[theme.id] = {}
            for side, mine, theirs in ((users_for, pro, heard_con), (users_against, con, heard_pro)):
                for user in side:
                    if mine - weights.get(user, 0.5) >= 0.5 and mine >= theirs:  # others on the winning side
                        agree[user] += 1
                        marks[user] = (1, 0)
                    elif theirs >= 1.0 and theirs > mine:  # against a consensus of at least two
                        disagree[user] += 1
                        marks[user] = (0, 1)
        weights = {u: _reliability(agree[u], disagree[u], rec.chatter) for u, rec in users.items()}
    previous = {r.id: r for r in knowledge.rules}  # each rule keeps its status and novelty
    knowledge.rules = []
    for theme in knowledge.themes:
        marks = per_theme.get(theme.id, {})
        own = {
            u: _reliability(agree[u] - marks.get(u, (0, 0))[0], disagree[u] - marks.get(u, (0, 0))[1], rec.chatter)
            for u, rec in users.items()
            if u in theme.users_for or u in theme.users_against
        }
        knowledge.rules.append(_rule(theme, own, previous.get(theme.id), independence))


def _reliability(agree: int, disagree: int, chatter: int) -> float:
    """Laplace-smoothed share of a user's statements that side with the consensus (0.5 with no record)."""
    return (agree + 1.0) / (agree + disagree + chatter + 2.0)


def _rule(theme: Theme, weights: dict[str, float], previous: Rule | None, independence: _Independence) -> Rule:
    sign = _sign(theme, independence, weights)
    users_for, users_against = _sides(theme)
    side, other = (users_for, users_against) if sign > 0 else (users_against, users_for)
    # the opposition counts as far as it is independent: a ring of fresh ids that arrives together is no voice
    heard_against, _ = independence.heard(other, theme)
    other = {u: n for u, n in other.items() if u in heard_against}
    pro, con = _weight(side, weights), _weight(other, weights)
    established, voices, by_request = independence.support(side, theme)
    logs_side, logs_other = (theme.logs_for, theme.logs_against) if sign > 0 else (theme.logs_against, theme.logs_for)
    evidence = [e.text for e in sorted(theme.exemplars, key=lambda e: -e.count) if e.sign == sign][:3]
    text = rule_text(theme)
    if text and statement_of(text).sign != sign:  # chosen for the other side (by users' reliability): never that
        text = ""
    return Rule(
        id=theme.id,
        text=text or (evidence[0] if evidence else "?"),
        support=logs_side,
        user_support=dict(side),
        helpful=logs_side,
        harmful=logs_other,
        novelty=previous.novelty if previous is not None else None,  # reset only when the priors change
        first_seen=theme.first_seen,
        last_seen=theme.last_seen,
        status=previous.status if previous is not None else RuleStatus.CANDIDATE,
        provenance=theme.provenance,
        against_share=round(con / (pro + con), 4) if pro + con else 0.0,
        opposing_users=len(other),
        reliable_users=round(pro, 4),
        independent_users=len(established | voices),
        established_users=len(by_request),
        regulars_silent_odds=1.0 if established else independence.silent_odds(len(voices)),
        approved_share=round(min(1.0, theme.approved / theme.weight), 4) if theme.weight else 0.0,
        directive=theme.directive * 2 >= theme.weight,
        promotion=theme.promotion > 0,
        injection=theme.injection > 0,
        evidence=evidence,
    )


# A theme of this many users, itself independently supported, is someone's real request: its users' logs end
# a burst of fresh ids.
SETTLED_THEME = 3
# A block of consecutive logs all written by one theme's supporters (`_Independence._ganged`) is a ring's
# when fewer than this many blocks as long were expected by chance.
GANG_ODDS = 0.01


class _Independence:
    """Which supporters of a cluster's themes are independent of each other (`supporters`), computed once
    per refresh of the cluster."""

    def __init__(self, knowledge: ClusterKnowledge):
        self.members = {t.id: set(t.users_for) | set(t.users_against) for t in knowledge.themes}
        self.themes = knowledge.themes
        self._population: tuple[int, int] | None = None  # (regulars, newcomers), when first asked
        users = {u: r for u, r in knowledge.users.items() if u != ANONYMOUS}
        self.signalled = {u for u, r in users.items() if r.signals > 0}
        # users with plain signals whose signals' positions are known (records written before they were kept
        # have none): a ring that gave thumbs up first and then pushes its rule together is still caught
        # (`_ganged`)
        self.placed = {u for u in self.signalled if users[u].signal_at}
        self.tracked = set(users)
        self.logs_seen = knowledge.logs_seen
        # where each user with no plain signal, or a placed one, wrote words (`_ganged`)
        self._spoken = {
            u: [p for p in (r.at or [r.first_log]) if p not in r.signal_at]
            for u, r in users.items()
            if r.signals == 0 or u in self.placed
        }
        # (cluster log count, user) of every log written by a user with no plain signal, in order
        self.quiet = sorted((p, u) for u, at in self._spoken.items() if u not in self.signalled for p in at)
        # the same as arrays for `_runs`: each log's position and writer (an index into `_writers`)
        self._writers = sorted({u for _, u in self.quiet})
        self._writer_at = {u: i for i, u in enumerate(self._writers)}
        self._positions = np.array([p for p, _ in self.quiet], dtype=np.int64)
        self._by = np.array([self._writer_at[u] for _, u in self.quiet], dtype=np.int64)
        # `_support` tests sets of users against each other many times: sets as rows of bits (`_bitrows`), one bit
        # per user of some theme, and themes as rows of a matrix
        self._users = list(dict.fromkeys(u for m in self.members.values() for u in m))
        self._user_at = {u: i for i, u in enumerate(self._users)}
        self._theme_at = {t: j for j, t in enumerate(self.members)}
        self._member_bits = self._bitrows(self.members.values())  # theme -> its members
        self._own_bit = self._bitrows([u] for u in self._users)  # user -> the user alone
        self._belongs = np.zeros((len(self._users), len(self.members)), dtype=bool)  # user, theme: wrote in it
        for t, m in self.members.items():
            self._belongs[[self._user_at[u] for u in m], self._theme_at[t]] = True
        # Users whose logs end a burst: the members of every theme of SETTLED_THEME users or more that has two
        # independent supporters itself, counted with the users settled so far, until nothing changes. A ring
        # cannot settle itself with a second theme of its own ids: interleaved, its two themes are one burst.
        self._settle(set())
        while True:
            self._group_bursts()
            self._known: dict = {}  # (theme id, side) -> `support`, while the settled users stay the same
            grown = set(self.settled)
            for theme in knowledge.themes:
                members = self.members[theme.id]
                if len(members) >= SETTLED_THEME and not members <= self.settled and self.count(members, theme) >= 2:
                    grown |= members
            if grown == self.settled:
                break
            self._settle(grown)

    def _settle(self, users: set[str]) -> None:
        self.settled = users
        self._settled_writers = self._writers_in(users)
        self._burst_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # `_bursts`

    def _bitrows(self, sets) -> np.ndarray:
        """Sets of users (of some theme) as rows of bits, in 64-bit words."""
        sets = list(sets)
        mask = np.zeros((len(sets), -(-len(self._users) // 64) * 64), dtype=bool)
        for row, users in enumerate(sets):
            mask[row, [self._user_at[u] for u in users]] = True
        return np.packbits(mask, axis=1, bitorder="little").view(np.uint64)

    def _group_bursts(self) -> None:
        """Per theme, the groups of its fresh members that wrote in it in one burst: one row per (user, theme,
        distinct group the user is in), as the user's index (`_row_user`), the theme's (`_row_theme`) and the
        group's bits (`_row_group`)."""
        groups: dict[frozenset[str], int] = {}  # distinct group -> its index
        rows: dict[tuple[int, int, int], None] = {}
        for t, m in self.members.items():
            for group in self._runs(m, t, m & self.signalled).values():
                g = groups.setdefault(frozenset(group), len(groups))
                rows.update(((self._user_at[u], self._theme_at[t], g), None) for u in group)
        self._row_user, self._row_theme, row_group = np.array(list(rows), dtype=np.int64).reshape(-1, 3).T
        self._row_group = self._bitrows(groups)[row_group]

    def _writers_in(self, users) -> np.ndarray:
        """Which of `_writers` are in ``users``, as a mask."""
        mask = np.zeros(len(self._writers), dtype=bool)
        mask[[i for u in users if (i := self._writer_at.get(u)) is not None]] = True
        return mask

    def supporters(self, side, theme: Theme) -> tuple[frozenset[str], frozenset[str]]:
        established, voices, _ = self.support(side, theme)
        return established, voices

    def heard(self, side, theme: Theme) -> tuple[frozenset[str], int]:
        """The users on ``side`` of ``theme`` who are independent (established, or fresh voices: `support`),
        and how many bursts two or more of its other fresh users wrote in: each is one voice, however many
        wrote in it (a ring that arrives together; one-time commenters of a busy stream asking alike)."""
        key = ("heard", theme.id, frozenset(side))
        if (known := self._known.get(key)) is None:
            established, voices, _ = self.support(side, theme)
            runs = self._runs(set(side), theme.id, set(established))
            known = self._known[key] = (established | voices, sum(1 for users in runs.values() if len(users) > 1))
        return known

    def support(self, side, theme: Theme) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """The supporters on ``side`` of ``theme`` that are independent, as (established users, fresh voices,
        the established users whom a request establishes, not plain signals alone: `Rule.established_users`).

        Established: users with feedback beyond this theme: a plain signal, or a request in another theme
        that users outside this theme, and outside the burst it was made in, share, made in a burst of its
        own or with none of this side's other supporters (a ring that echoes a real request together is
        not established by it, nor is a member whose ring-mates alone share its other request). The others are
        *fresh*, and fresh ids that arrive together count for nothing: a burst is a run of the cluster's
        consecutive logs all written by fresh users (no plain signal, not settled), and a fresh supporter
        is a voice when it is the only one of this side in some burst it wrote in. A ring of fresh ids that
        appears at once and pushes one rule, in however many phrasings and even when some of them land in a
        theme of their own, is one burst; one-time commenters of a busy cluster are not, because the logs
        of users asking for other things, or giving plain signals, fall between them."""
        side = set(side)
        key = (theme.id, frozenset(side))
        if (known := self._known.get(key)) is None:
            known = self._known[key] = self._support(side, theme)
        return known

    def _support(self, side: set[str], theme: Theme) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        j = self._theme_at.get(theme.id)
        mine = self._member_bits[j] if j is not None else np.uint64(0)
        in_side = np.zeros(self._own_bit.shape[1] * 64, dtype=bool)
        in_side[[i for u in side if (i := self._user_at.get(u)) is not None]] = True
        side_bits = np.packbits(in_side, bitorder="little").view(np.uint64)
        in_side = in_side[: len(self._users)]
        # ``asked``: those with a request in another theme that users outside this one make too
        rest = self._member_bits & ~mine  # per theme, its members outside this one
        others = rest.any(axis=1)
        if j is not None:
            others[j] = False
        asking = in_side & (self._belongs & others).any(axis=1)
        # ``shared``: those with such a request made apart from this side's other supporters, and shared by
        # someone outside the burst it was made in (ring-mates do not vouch for each other): alone of this side
        # in a group of the other theme (the user is in both), with someone outside it in that theme
        rows = in_side[self._row_user] & others[self._row_theme]
        users, group = self._row_user[rows], self._row_group[rows]
        alone = ((group & side_bits) == self._own_bit[users]).all(axis=1)
        apart = (rest[self._row_theme[rows]] & ~group).any(axis=1)
        shared = {self._users[i] for i in np.unique(users[alone & apart]).tolist()}
        asked = {self._users[i] for i in np.flatnonzero(asking).tolist()}
        # Established by a shared request or by plain signals; but signals cost nothing (a ring can give a few thumbs
        # up before it pushes its rule), so where no supporter has a request that others share, a user with signals
        # whose words came in a ring's block of this side's logs is not
        requesting = shared | (asked & self.signalled)
        ganged = set() if side & requesting else self._ganged(side)
        established = {
            u for u in side if u in self.tracked and u not in ganged and (u in self.signalled or u in shared)
        }
        runs = self._runs(side, theme.id, established)
        # Established by a request, not by plain signals alone, which cost nothing (a ring can give a few thumbs
        # up before it pushes its rule): shared as above, or, for a user with plain signals (who is in no burst),
        # a request in another theme that users outside this one make too (``asked``).
        by_request = established & requesting
        voices = frozenset(u for users in runs.values() if len(users) == 1 for u in users)
        return frozenset(established), voices, frozenset(by_request)  # remembered: shared by every caller

    def _ganged(self, side) -> set[str]:
        """This side's users with placed signals whose words were said in a ring's block: a run of the
        cluster's consecutive logs, all written by this side's users (with words), of two users or more, and
        longer than chance makes one. With a share ``s`` of the cluster's ``n`` logs theirs, about
        ``n (1 - s) s^L`` runs of ``L`` or more are expected; a block is a ring's when that is under GANG_ODDS
        (a ring of 6 that posts twice each: 12 logs in a row; real users' requests fall between others' logs)."""
        mine = sorted((p, u) for u in side for p in self._spoken.get(u, ()))
        logs = max(self.logs_seen, len(mine), 1)
        share = len(mine) / logs
        blocks: list[list[str]] = []
        last = -2
        for p, u in mine:
            if p != last + 1:
                blocks.append([])
            blocks[-1].append(u)
            last = p
        chance = [logs * (1 - share) * share ** len(b) for b in blocks]
        return {
            u for b, odds in zip(blocks, chance, strict=True) if len(set(b)) > 1 and odds < GANG_ODDS for u in b
        } & self.placed

    def _runs(self, side, theme_id: str, established: set[str]) -> dict[int, set[str]]:
        """First log of each burst -> the fresh supporters on ``side`` that wrote in it, in the order of the
        bursts. A burst is a run of quiet logs at consecutive positions, the logs of settled users who are not in
        this theme left out (at a position of their own, one ends the run it falls in)."""
        fresh = self._writers_in(u for u in side if u not in established)
        if not fresh.any():
            return {}
        by, begun = self._bursts(theme_id)
        wrote = fresh[by]
        begun = begun[wrote]  # where the burst of each of their logs begins
        starts_at, writers = np.divmod(np.unique(begun * len(self._writers) + by[wrote]), len(self._writers))
        runs: dict[int, set[str]] = {}
        for start, writer in zip(starts_at.tolist(), writers.tolist(), strict=True):  # by burst, then writer
            runs.setdefault(start, set()).add(self._writers[writer])
        return runs

    def _bursts(self, theme_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The writer of each quiet log that counts for ``theme_id``, and the position where its burst begins
        (`_runs`), remembered while the settled users stay the same."""
        if (known := self._burst_of.get(theme_id)) is None:
            kept = ~(self._settled_writers & ~self._writers_in(self.members.get(theme_id, ())))[self._by]
            positions, by = self._positions[kept], self._by[kept]
            starts = np.ones(len(positions), dtype=bool)  # a log whose position does not follow the one before
            starts[1:] = positions[1:] != positions[:-1] + 1
            known = self._burst_of[theme_id] = (by, positions[starts][np.cumsum(starts) - 1])
        return known

    def silent_odds(self, voices: int) -> float:
        """The odds that none of the cluster's regulars would ask for a request that ``voices`` of its
        newcomers ask for, were it asked as often by both: (1 - voices / newcomers) ** regulars.

        Regulars are the users established in some theme (a plain signal, or a request others share),
        newcomers the other users with a request in the cluster. A request of real users reaches the
        regulars too, unless nearly everyone is new (a busy stream of one-time commenters: the odds are
        high); a ring of fresh ids that posts apart, each id a separate voice, is heard from newcomers only,
        while the cluster's regulars, who ask for other things, never ask for it."""
        if self._population is None:
            regulars: set[str] = set()
            for theme in self.themes:
                regulars |= self.supporters(self.members[theme.id], theme)[0]
            everyone = set().union(*self.members.values()) if self.members else set()
            self._population = (len(regulars), len(everyone - regulars))
        regulars, newcomers = self._population
        if not newcomers or not voices:
            return 1.0
        return round(max(0.0, 1.0 - voices / newcomers) ** regulars, 6)

    def count(self, side, theme: Theme) -> int:
        established, voices = self.supporters(side, theme)
        return len(established | voices)


def merge_provenance(ranges: list[Provenance], new: Provenance) -> list[Provenance]:
    """Offset ranges per (topic, partition), widened to include ``new``; bounded in length."""
    out = []
    merged = False
    for p in ranges:
        if (p.topic, p.partition) == (new.topic, new.partition) and not merged:
            first, last = min(p.first_offset, new.first_offset), max(p.last_offset, new.last_offset)
            out.append(Provenance(p.topic, p.partition, first, last))
            merged = True
        else:
            out.append(p)
    if not merged:
        out.append(new)
    return out[-MAX_PROVENANCE:]


def copy_knowledge(knowledge: ClusterKnowledge) -> ClusterKnowledge:
    """A deep copy: refresh steps work on copies so a failed refresh leaves the caller's state intact."""
    return msgspec.msgpack.decode(msgspec.msgpack.encode(knowledge), type=ClusterKnowledge)


class _Centres:
    """The centres of a list of themes (`_centres`) while statements join them: the row of the theme that
    moved is computed again, not every row."""

    def __init__(self, themes: list[Theme]):
        self.matrix = _centres(themes) if themes else np.zeros((0, 0))
        self._row = {t.id: i for i, t in enumerate(themes)}

    def moved(self, theme: Theme) -> None:
        row = _centres([theme])
        if (i := self._row.get(theme.id)) is None:  # opened
            self._row[theme.id] = len(self._row)
            self.matrix = np.vstack([self.matrix, row]) if len(self.matrix) else row
        else:
            self.matrix[i] = row[0]


def _centres(themes: list[Theme]) -> np.ndarray:
    """The themes' centres, one unit vector per row."""
    return _unit_rows(np.stack([_vector(t) for t in themes]))


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def _vector(theme: Theme) -> np.ndarray:
    return np.frombuffer(theme.vector, dtype=np.float32).astype(np.float64)


def _pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v
