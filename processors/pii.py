"""PII redaction and user-id pseudonyms: applied to every log before it is stored, reaches an LLM
prompt, a rule or a published module.

Patterns, not a model: e-mail addresses, phone numbers, payment card numbers (Luhn-checked),
IBANs, IPv4 addresses, URLs carrying credentials or tokens, and long secret-looking tokens
(``sk-...``, ``ghp_...``, bearer tokens). Each match becomes a typed placeholder, so the text still
reads naturally to the distiller ("write to [EMAIL]").

>>> redact("Mail jane.doe@example.com or call +1 (415) 555-0100, card 4111 1111 1111 1111.")
'Mail [EMAIL] or call [PHONE], card [CARD].'
>>> redact("key sk-abcdefghijklmnopqrstuv and 10.0.0.12")
'key [SECRET] and [IP]'
"""

from __future__ import annotations

import hashlib
import hmac
import re

import msgspec

from uno_models import Feedback, LogRecord

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_URL_SECRET = re.compile(r"https?://[^\s/]*:[^\s/@]*@\S+|https?://\S*[?&](?:token|key|secret|password|sig)=\S+", re.I)
_SECRET = re.compile(
    r"\b(?:sk|pk|rk|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{16,}\b|\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*", re.I
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IP = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?\d{2,4}(?:[\s.-]\d{2,4}){1,3}"
    r"|\d{2,4}(?:[\s.-]\d{2,4}){2,4})(?![\w])"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


def redact(text: str) -> str:
    """The text with personal data and secrets replaced by placeholders."""
    text = _URL_SECRET.sub("[URL]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _SECRET.sub("[SECRET]", text)
    text = _IBAN.sub("[IBAN]", text)
    text = _CARD.sub(_card, text)
    text = _IP.sub("[IP]", text)
    return _PHONE.sub("[PHONE]", text)


def redact_feedback(fb: Feedback, limit: int | None = None) -> Feedback:
    """The feedback with its text (cut to ``limit`` characters, if given) redacted."""
    if fb.text is None:
        return fb
    return msgspec.structs.replace(fb, text=redact(fb.text[:limit]))


class Pseudonymiser:
    """User ids as keyed hashes, per namespace: what ingest stores, and all that rules and modules carry.

    The same user in the same namespace always gets the same pseudonym (reliability, independence and
    the user-share cap still work); without the key nobody can test a guess ("is it jane@example.com?"),
    and the same person in two namespaces cannot be linked across them.

    >>> p = Pseudonymiser(b"a secret key")
    >>> p("legal", "jane@example.com") == p("legal", "jane@example.com") != p("cooking", "jane@example.com")
    True
    >>> p("legal", "jane@example.com")[:2], p("legal", None)
    ('p-', None)
    """

    def __init__(self, key: bytes):
        self._key = key

    def __call__(self, namespace: str, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        digest = hmac.new(self._key, f"{namespace}\0{user_id}".encode(), hashlib.sha256).hexdigest()
        return f"p-{digest[:20]}"

    def feedback(self, namespace: str, fb: Feedback, limit: int | None = None) -> Feedback:
        """Feedback as stored: text redacted (cut to ``limit``), user id pseudonymised."""
        fb = redact_feedback(fb, limit)
        return fb if fb.user_id is None else msgspec.structs.replace(fb, user_id=self(namespace, fb.user_id))


def redact_log(log: LogRecord) -> LogRecord:
    """A copy of the log with query, response and feedback texts redacted."""
    return msgspec.structs.replace(
        log,
        query=redact(log.query),
        response=redact(log.response),
        feedback=[redact_feedback(fb) for fb in log.feedback],
    )
