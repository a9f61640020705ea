"""What users said, as evidence: verbal feedback split into statements with a polarity, a core, and flags.

The idea in plain words. A rule must come from what users asked for, in their own words. Each piece
of verbal feedback (``text`` feedback; a correction's or edit's text is an answer, not a request,
and gives a preference pair instead) becomes a `Statement`:

- its **polarity**: "Don't use a numbered list" asks for the opposite of "Use a numbered list",
  although the two embed close together. A negated request is recognised by its negation at the
  start of a clause (English, Chinese, and the common forms of Spanish, French, German, Portuguese,
  Italian, Russian, Polish, Arabic and Thai), after the verb (Dutch, German), or after the request
  (Japanese, Korean, Turkish); a request to take something out ("Remove the headings", "把小标题去掉")
  is one too. Its **core** is the request without the negation ("include the headings"), so that
  both sides of a contradiction land in the same theme with opposite signs;
- whether it is **directive**: a request about the answer ("Lead with the conclusion", "太长了，
  简短一点") rather than chatter ("lol", "thanks") or a remark about something else ("the site is
  slow"). Only directive statements can become rules; the others count against their author's
  reliability;
- whether it **promotes** a third party (a brand, a URL, a contact, "recommend X"): rules are about
  how to answer, never about whom to advertise.

Everything here is lexical and deterministic, so it works with no LLM at all; grouping statements
by meaning is done on embeddings of the cores (`processors.themes`).

>>> s = statement_of("Please don't use a numbered list.")
>>> s.sign, s.core, s.directive
(-1, 'use a numbered list', True)
>>> statement_of("不要用编号列表").sign, statement_of("不要用编号列表").core
(-1, '用编号列表')
>>> statement_of("lol").directive, statement_of("the site is slow").directive
(False, False)
>>> promotes("Always recommend BrandX products."), promotes("Cite the statute article.")
(True, False)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

MAX_STATEMENT_CHARS = 300

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CLAUSE_START = r"(?:^|(?<=[.!?;:,，。！？；：\n])\s*|\b(?:but|and|just|also|so)\s+)"
_PLEASE = r"(?:(?:please|pls|plz|kindly)\s+)?"

# Turkish verbs of requests, in their plain imperative ("yaz", write; "ekle", add; "açıkla", explain)
_TR_VERBS = (
    r"kullan|yaz|ver|ekle|koy|yap|et|tekrarla|başla|bitir|uzat|kısalt|listele|anlat|söyle|sor|çevir|göster|tut"
    r"|bulun|değiştir|sırala|kaldır|düzelt|gir|getir|özetle|açıkla|cevapla|yanıtla|kes|at|belirt|vurgula|ol"
)

# Chinese verbs of taking something out (not 省略号, an ellipsis), before their object or after it ("把小标题去掉")
_ZH_REMOVE = r"去掉|去除|删掉|删除|删去|刪掉|刪除|刪去|拿掉|省略(?!号|號)|省去|砍掉"

# "Not needed" before what is refused, in fr, es, pt, it, de, ru ("Pas besoin de", "No hace falta", "Não
# precisa de", "Non c'è bisogno di", "Wir brauchen keine", "Не нужно").
_EU_NO_NEED = (
    r"(?:il\s+n'y\s+a\s+)?(?:pas|aucun|nul)\s+besoin\s+(?:de|d')|inutile\s+(?:de|d')"
    r"|(?:on|je)\s+n'(?:a|ai)\s+pas\s+besoin\s+(?:de|d')|nous\s+n'avons\s+pas\s+besoin\s+(?:de|d')"
    r"|no\s+(?:hace(?:n)?\s+falta|es\s+necesari[oa]|son\s+necesari[oa]s|necesito|necesitamos)"
    r"|n[ãa]o\s+(?:precisa(?:mos)?|preciso|[ée]\s+(?:preciso|necess[áa]rio))(?:\s+de)?|sem\s+necessidade\s+de"
    r"|non\s+(?:serv(?:e|ono)|c'[èe]\s+bisogno\s+di|ho\s+bisogno\s+di|abbiamo\s+bisogno\s+di)"
    r"|(?:ich|wir)\s+(?:brauche|brauchen)\s+kein(?:e|en|er|es)?|не\s+(?:нужн[оаыи]|надо|требуется)"
)
# "I would prefer" and "can you" in fr, es, pt, it, de, ru.
_EU_PREFER = (
    r"(?:je\s+pr[ée]f[ée]rerais|j'aimerais\s+mieux|je\s+pr[ée]f[èe]re|preferir[ií]a|prefiero|me\s+gustar[ií]a|prefiro"
    r"|preferia|preferiria|gostaria|preferirei|preferisco|vorrei|ich\s+h[äa]tte\s+lieber|mir\s+w[äa]re\s+lieber"
    r"|я\s+бы\s+предпоч(?:ёл|ел|ла)|я\s+предпочитаю|лучше)"
)
_EU_CAN_YOU = (
    r"(?:tu\s+peux|vous\s+pouvez|peux-tu|pouvez-vous|pourrais-tu|pourriez-vous|puedes|podr[ií]as|puede|podr[ií]a"
    r"|(?:você\s+)?(?:pode|poderia)|puoi|potresti|pu[òo]|potrebbe|kannst\s+du|k[öo]nntest\s+du|k[öo]nnen\s+sie"
    r"|k[öo]nnten\s+sie|можешь|можете|мог\s+бы|могли\s+бы)"
)
# "Less" is a limit before a number: "Moins de 100 mots", "Menos de cien palabras", "Меньше ста слов"
_NOT_A_NUMBER = (
    r"(?!\s+(?:d(?:e|')\s*)?(?:\d|(?:un|une|uno|una|um|uma|ein\w*|одн\w*|deux|dos|due|dois|duas|zwei|два|две|trois|tres"
    r"|tre|três|drei|три|cinq|cinco|cinque|fünf|пят\w*|dix|diez|dieci|dez|zehn|десят\w*|cent|cien|cento|cem|hundert"
    r"|сто|ста)\b))"
)


def _eu_refusal(body: str, replacement: str = " ") -> tuple[re.Pattern, str]:
    """A hedged refusal of fr, es, pt, it, de or ru at the start of a clause, after an optional "please"."""
    please = r"¿?\s*(?:por\s+favor,?\s+|bitte\s+|per\s+favore,?\s+)?"
    return re.compile(_CLAUSE_START + please + "(?:" + body + r")(?:\s+|(?<=')|$)", re.I), replacement


# Negated requests at the start of a clause: (pattern, replacement). The replacement turns the
# negated request into its core ("avoid X" -> "use X" keeps a verb, so the core embeds like a request).
_NEGATIONS: list[tuple[re.Pattern, str]] = [
    (
        re.compile(
            _CLAUSE_START + _PLEASE + r"(?:do\s+not|don'?t|dont|never|you\s+(?:should|must|need)\s+not"
            r"|you\s+shouldn'?t|shouldn'?t|no\s+need\s+to|there(?:'s|\s+is)\s+no\s+need\s+to|quit"
            # hedged: "I'd rather you didn't use tables", "Can you not add a conclusion?"
            r"|(?:i'?d|i\s+would)\s+(?:really\s+)?(?:rather|prefer)\s+(?:it\s+if\s+)?you\s+(?:didn'?t|did\s+not"
            r"|wouldn'?t|would\s+not)|(?:can|could|would)\s+you\s+(?:please\s+)?not)\s+",
            re.I,
        ),
        " ",
    ),
    (
        re.compile(
            _CLAUSE_START
            + r"(?:(?:can|could|would)\s+you\s+)?"
            + _PLEASE
            + r"(?:stop|avoid|refrain\s+from)\s+(?:using\s+|giving\s+|adding\s+|writing\s+)?",
            re.I,
        ),
        " use ",
    ),
    # "No more tables", "Fewer bullet points", "I'd rather not have tables", "I would prefer no headings"; not a
    # limit ("No more than 100 words", "Less is more")
    (
        re.compile(
            _CLAUSE_START
            + _PLEASE
            + r"(?:no\s+more|less|fewer|(?:i'?d|i\s+would)\s+(?:really\s+)?(?:rather|prefer)\s+(?:not\s+(?:have|get|see"
            r"|use|include)|no))\s+(?!(?:than|is|of)\b)",
            re.I,
        ),
        " use ",
    ),
    # Taking something out, or not wanting it, asks for the opposite of putting it in: "Remove the headings"
    # embeds as close to "Add section headings" as a paraphrase does (0.69 under USE-m3), "Without bullet
    # points please" to "Use bullet points" (0.63), and neither must count for it. Not "cut
    # to the chase", "cut it down to 100 words", "skip straight to the answer": those ask to be brief or direct.
    (
        re.compile(
            _CLAUSE_START
            + r"(?:(?:can|could|would)\s+you\s+)?"
            + _PLEASE
            + r"(?:remove|omit|delete|eliminate|ditch|drop|lose|do\s+away\s+with|get\s+rid\s+of"
            r"|(?:leave|take|strip|cut)\s+out|strip|skip(?!\s+(?:to|straight|right|directly)\b)"
            r"|without|hold\s+off\s+on|enough\s+with|(?:there(?:'s|\s+is)\s+)?no\s+need\s+for"
            r"|(?:i|we)\s+(?:really\s+)?(?:don't|dont|do\s+not)\s+(?:want|need)(?!\s+to\b)(?:\s+any)?)\s+",
            re.I,
        ),
        " include ",
    ),
    (  # zh: remove, delete, leave out
        re.compile(r"(?:^|(?<=[，。！？；：,.!?;:]))\s*(?:请|請)?(?:" + _ZH_REMOVE + ")"),
        "加上",
    ),
    (  # es, pt, fr, it, de, nl, ru: the imperatives of "remove" and "leave out"
        re.compile(
            _CLAUSE_START
            + r"(?:por\s+favor,?\s+|bitte\s+)?(?:quita|quite|quitad|elimina|elimine|eliminad|omite|omita|suprime"
            r"|suprima|borra|borre|remova|tira|tire|retira|retire|apague|enlève|enlevez|enleve|supprime|supprimez|retirez|omets"
            r"|omettez|élimine|éliminez|rimuovi|rimuova|togli|tolga|ometti|cancella|entferne|entfernt|entfernen\s+sie"
            r"|streiche|streicht|lösche|löscht|weg\s+mit|verwijder|schrap|убери|уберите|удали|удалите|выкинь|выкиньте)\s+",
            re.I,
        ),
        " ",
    ),
    (
        re.compile(
            r"(?:^|(?<=[，。！？；：,.!?;:]))\s*(?:请|請)?(?:不要|别|別|不用|无需|無需|不需要|不必|勿|禁止|停止|避免|少用|不准"
            r"|毋须|毋須)"
        ),
        "",
    ),
    # Hedged refusals in fr, es, pt, it, de, ru, before the plain "no" / "non" / "не" below (which would keep
    # "hace falta" or "serve" in the core): "Pas besoin de tableaux", "No hace falta repetir la pregunta",
    # "Non c'è bisogno di tabelle", "Не нужно повторять вопрос"
    _eu_refusal(_EU_NO_NEED),
    # "Je préférerais que tu n'utilises pas de listes", "Prefiro que você não use listas"; "Preferiría sin tablas"
    _eu_refusal(
        _EU_PREFER + r"\s+(?:que|che|чтобы)\s+(?:tu\s+|vous\s+|você\s+|voce\s+|usted\s+|ты\s+|вы\s+)?(?:ne\s+|n'|no\s+"
        r"|não\s+|nao\s+|non\s+|не\s+)(?P<v>[^\W\d_]+)(?:\s+(?:pas|plus|jamais))?(?:\s+de(?=\s)|\s+d'|(?=\s))",
        r" \g<v> ",
    ),
    _eu_refusal(_EU_PREFER + r"\s+(?:sem|sin|sans|senza|ohne|без|kein\w*)"),
    # "Basta de advertencias", "Chega de emojis", "Arrête avec les émojis", "Basta con le emoji"
    _eu_refusal(
        r"(?:ya\s+)?(?:basta|chega|assez)\s+(?:de|d'|com|con)|(?:arr[êe]te[sz]?|smettila|smettetela|pare|parem)\s+"
        r"(?:avec|con|com)"
    ),
    # "¿Puedes dejar de usar listas?", "Tu peux éviter les tableaux ?", "Можешь не добавлять вывод?"
    _eu_refusal(
        _EU_CAN_YOU + r"\s+(?:arr[êe]ter\s+(?:de|d')|cesser\s+(?:de|d')|[ée]viter(?:\s+de|\s+d')?|dejar\s+de|evitar"
        r"|parar\s+de|deixar\s+de|smettere\s+di|evitare(?:\s+di)?|перестать|не|aufh[öo]ren,?(?:\s+mit)?)"
    ),
    # do without: "Ahórrate la introducción", "Lascia perdere i titoli", "Verzichte auf Fachjargon", "Обойдись
    # без таблиц", "Sobran las tablas"
    _eu_refusal(
        r"ah[óo]rra(?:te|os)|prescind[ea]\s+de|dispens[aeo]|(?:laisse[sz]?|laissez)\s+tomber|lascia(?:te)?\s+perdere"
        r"|fa(?:i|te)\s+a\s+meno\s+(?:di|del|della|dei|degli|delle|dell'|dello)|verzicht(?:e|et|en\s+sie)\s+(?:bitte\s+)?auf"
        r"|spar(?:e|t)?\s+(?:dir|euch|sich)|sobra(?:n)?|evitiamo|обойди(?:сь|тесь)\s+без|давай(?:те)?\s+без|без"
    ),
    # "Moins de jargon", "Menos jerga", "Weniger Fachjargon", "Поменьше жаргона"; not a limit ("Menos de cien
    # palabras", "Weniger als 100 Wörter") nor "Menos mal", "Weniger ist mehr"
    _eu_refusal(
        r"(?:moins\s+d(?:e|')|menos|meno|weniger|(?:по)?меньше)(?!\s+(?:de|di|als|чем|mal|es|est|ist|è|é)\b)"
        + _NOT_A_NUMBER
    ),
    # de, what is refused inside: "Lass die Tabellen weg", "Auf Tabellen kannst du verzichten"
    (
        re.compile(
            _CLAUSE_START + r"(?:bitte\s+)?(?:lass(?:t|en\s+sie)?\s+(?:bitte\s+)?(?P<v>[^.!?;,]+?)\s+weg|auf\s+"
            r"(?P<w>[^.!?;,]+?)\s+(?:kannst\s+du|k[öo]nnen\s+sie|k[öo]nnt\s+ihr)\s+(?:gerne?\s+)?verzichten)\b",
            re.I,
        ),
        r" \g<v>\g<w> ",
    ),
    # es / pt (and English "No tables"; not a limit: "No more than 100 words", "No longer than a paragraph")
    (re.compile(_CLAUSE_START + r"(?:por\s+favor,?\s+)?(?:no|nunca|evita|evite|sin)\s+(?!\w+\s+than\b)", re.I), " "),
    (re.compile(_CLAUSE_START + r"(?:por\s+favor,?\s+)?(?:não|nao|sem)\s+", re.I), " "),  # pt
    (re.compile(_CLAUSE_START + r"(?:per\s+favore,?\s+)?(?:non|niente|senza)\s+", re.I), " "),  # it
    # fr, with no verb ("pas de listes") or before an infinitive ("ne pas utiliser de listes")
    (re.compile(_CLAUSE_START + r"(?:pas\s+de|pas\s+d'|sans|ne\s+pas)\s*", re.I), " "),
    # de, nl, pl with no verb ("Keine Tabellen", "Geen tabellen", "Bez tabel"), or before the verb ("Nie
    # używaj list", "Nie Tabellen verwenden"; not "Nie rozumiem", I don't understand: a remark)
    (
        re.compile(
            _CLAUSE_START
            + r"(?:bitte\s+|proszę\s+|prosze\s+)?(?:kein(?:e|en|er|es)?|nicht|ohne|geen|niet|nooit|zonder|bez"
            r"|(?:nigdy\s+)?nie(?!\s+(?:jest|są|był\w*|było|wiem|rozumiem|działa\w*|mam|ma|mogę|może|lubię|podoba\w*"
            r"|widzę|jestem|zgadzam|wiadomo)\b))\s+",
            re.I,
        ),
        " ",
    ),
    # The verb first, its negation after it (de, nl): "Verwende keine Tabellen", "Gebruik geen tabellen",
    # "Schrijf niet zo formeel"; a remark that opens with a pronoun or an article ("Ik heb geen tijd") is none.
    (
        re.compile(
            _CLAUSE_START + r"(?:bitte\s+)?(?P<verb>[^\W\d_]+)\s+(?:kein(?:e|en|er|es)?|nicht|nie|geen|niet|nooit)\s+",
            re.I,
        ),
        r" \g<verb> ",
    ),
    (re.compile(_CLAUSE_START + r"(?:ne\s+|n')(\w+)\s+(?:pas|jamais)\s+(?:de\s+|d')?", re.I), r" \1 "),  # fr
    (re.compile(_CLAUSE_START + r"(?:évite[zs]?|evita|evitare)\s+(?:de\s+|d')?", re.I), " "),  # fr / it
    (
        re.compile(_CLAUSE_START + r"(?:bitte\s+)?vermeide\w*\s+", re.I),  # de: "avoid" -> "use"
        " verwende ",
    ),
    (re.compile(_CLAUSE_START + r"vermijd\w*\s+", re.I), " gebruik "),  # nl
    (re.compile(_CLAUSE_START + r"(?:proszę\s+)?unikaj\w*\s+", re.I), " używaj "),  # pl
    # ru; not a limit ("Не более ста слов", "Не больше трёх пунктов")
    (
        re.compile(
            _CLAUSE_START + r"(?:не\s+(?!(?:более|больше|менее|меньше|длиннее)\b)|никогда\s+не\s+|избегай\w*\s+)", re.I
        ),
        " ",
    ),
    # ar: the prohibitive "لا" before a second-person verb ("لا تستخدم"; not "لا أفهم", I don't understand),
    # "no need for", "without", "avoid"
    (
        re.compile(
            _CLAUSE_START + r"(?:من\s+فضلك\s+|رجاء\S*\s+|يرجى\s+)?(?:لا\s+(?=ت)|لا\s+(?:داعي|حاجة)\s+(?:إلى\s+|ل)?"
            r"|بدون\s+|بلا\s+|دون\s+|ممنوع\s+|(?:تجنب|تجنّب|تجنبوا|يجب\s+تجنب)\s+)"
        ),
        " ",
    ),
    # th: "don't", "no need to", "forbidden", "stop", "avoid" open the clause (no spaces between words)
    (
        re.compile(r"(?:^|(?<=[.!?;:,\s]))(?:กรุณา|โปรด|ช่วย)?(?:อย่า|ไม่ต้อง|ไม่ควร|ห้าม|เลิก|หลีกเลี่ยง(?:การ)?|งด|ไม่เอา)"),
        "",
    ),
    # "stop doing X" in es, pt, fr, it, de, ru: "Deja de usar listas", "Arrête d'utiliser des listes"
    (
        re.compile(
            _CLAUSE_START
            + r"(?:por\s+favor,?\s+|s'il\s+te\s+plaît,?\s+|bitte\s+)?(?:(?:deja|dejen|deje|dejad|pare|para"
            r"|parem|deixe|deixa)\s+de|(?:arrête|arrêtez|arrete|arretez|cesse|cessez)\s+(?:de\s+|d'|d’)"
            r"|(?:smetti|smettila|smettete|smetta)\s+di|hör(?:e|t)?\s+auf,?\s+(?:mit\s+)?"
            r"|(?:перестань|перестаньте|прекрати|прекратите|хватит)|stop\s+met|przestań\w*|przestan\w*"
            r"|(?:توقف|توقفوا|كف|كفوا)\s+عن)\s*",
            re.I,
        ),
        " ",
    ),
]

# A Japanese verb's negative stem (the part before ない) -> its te-form: 書か -> 書いて, 使わ -> 使って,
# 示さ -> 示して; an ichidan verb keeps its stem (挙げ -> 挙げて, 見 -> 見て).
_JA_TE = {
    "か": "いて",
    "が": "いで",
    "さ": "して",
    "た": "って",
    "な": "んで",
    "ば": "んで",
    "ま": "んで",
    "ら": "って",
    "わ": "って",
}


def _ja_request(head: str) -> str:
    """The request a Japanese "don't" negates: "例は挙げ" (of 挙げないで, don't give) -> "例は挙げてください"."""
    if head.endswith("行か"):  # the one godan verb whose te-form is irregular
        return head[:-1] + "ってください"
    te = _JA_TE.get(head[-1:])
    return (head[:-1] + te if te else head + "て") + "ください"


# Korean vowels (the medial jamo's index) that contract with the 아 / 어 of a request: 쓰 -> 써, 보 -> 봐
_KO_CONTRACT = {8: 9, 13: 14, 18: 4, 20: 6, 11: 10}
_KO_KEEP = {0, 1, 4, 5, 6}  # 가, 보내, 서, 세, 켜: the 아 / 어 is absorbed


def _ko_request(head: str) -> str:
    """A verb stem (the part before 지 마세요, don't) -> its request, stem + 아 / 어 주세요: "표를 쓰" -> "표를 써
    주세요", "예시는 들" -> "예시는 들어 주세요", "사용하" -> "사용해 주세요". Irregular stems (돕, 듣, 부르) are
    not inflected."""
    last = head[-1:]
    if not "\uac00" <= last <= "\ud7a3":
        return head + " 주세요"
    code = ord(last) - 0xAC00
    initial, medial, final = code // 588, code % 588 // 28, code % 28
    if last == "하":
        return head[:-1] + "해 주세요"
    if final:
        return head + ("아" if medial in (0, 8) else "어") + " 주세요"
    if medial in _KO_KEEP:
        return head + " 주세요"
    if medial in _KO_CONTRACT:
        return head[:-1] + chr(0xAC00 + initial * 588 + _KO_CONTRACT[medial] * 28) + " 주세요"
    return head + "어 주세요"


# Negations that *follow* the request (Japanese, Korean): the core is the clause before them, made a request
# ("箇条書きにしないでください" -> "箇条書きにしてください", "書かないで" -> "書いてください",
# "쓰지 마세요" -> "써 주세요").
_SUFFIX_NEGATIONS: list[tuple[re.Pattern, str | Callable[[str], str]]] = [
    # "not needed": "絵文字は要らないです", "表は不要です", "표는 필요 없어요" (Japanese "ないです" is otherwise a
    # remark: "例が少ないです", too few examples, asks for more)
    (
        re.compile(r"(?:は|も)?(?:要らない|いらない|要りません|いりません|不要|必要(?:ない|ありません))(?:です)?"),
        "を付けてください",
    ),
    (re.compile(r"\s*(?:은|는|도)?\s*필요\s*(?:없어요|없습니다|없어|없음|없다)"), " 넣어 주세요"),
    (re.compile(r"しないで(?!す)(?:ください|下さい|ほしい|欲しい)?"), "してください"),
    (re.compile(r"ないで(?!す)(?:ください|下さい|ほしい|欲しい)?"), _ja_request),
    (re.compile(r"지\s*(?:마세요|마십시오|마시오|말아\s*주세요|말아요|말고|마)"), _ko_request),
    (re.compile(r"(?:では|じゃ)なく(?:て)?"), ""),  # "箇条書きではなく" (not lists)
    # ja, ko: "見出しを削除してください", "제목을 빼 주세요" (take the headings out) -> "put them in"
    (
        re.compile(
            r"(?:(?:削除|省略|カット)して|消して|外して|省いて|除いて|取り除いて|なくして|抜いて)(?:ください|下さい|ほしい|欲しい|(?=\s*(?:[。！？、.!?,]|$)))"
        ),
        "付けてください",
    ),
    (
        re.compile(r"(?:빼|삭제해|없애|지워|제거해|생략해)\s*(?:주세요|주십시오|줘|주실래요|(?=\s*(?:[.!?,]|$)))"),
        " 넣어 주세요",
    ),
    # zh: "把小标题去掉" (take the headings out) names what to remove before the verb
    (re.compile(r"(?:" + _ZH_REMOVE + r")(?:吧|了|啊)?"), "加上"),
    # nl, de: the verb first, "not" last ("Herhaal de vraag niet", "Wiederhole die Frage nicht")
    (re.compile(r"\s+(?:niet|nicht)(?=\s*(?:[.!?;:,]|$))", re.I), ""),
    # tr: a negative imperative ends the clause: polite "-mayın" on any verb ("kullanmayın"), plain "-ma"
    # on the verbs of requests ("Tablo kullanma"; a noun such as "açıklama", explanation, is none); "avoid"
    (re.compile(r"(?<=[^\W\d_]{2})m[ae]y[ıi]n(?:[ıi]z)?(?=\s*(?:[.!?;:,]|$))"), ""),
    (
        re.compile(r"\b(?P<verb>" + _TR_VERBS + r")m[ae](?=\s*(?:[.!?;:,]|$))"),
        r" \g<verb>",
    ),
    (re.compile(r"(?<=[^\W\d_]{2})(?:dan|den|tan|ten)\s+kaçın(?:ın|ınız)?(?=\s*(?:[.!?;:,]|$))"), ""),
]
# "X isn't needed", "X is unnecessary" end a clause that names what is refused; not "That isn't necessary" (a
# remark about something said) nor "It is not necessary to ..." (the clause goes on)
_NOT_NEEDED = re.compile(
    r"\s+(?:is|are)(?:(?:n't|\s+not)\s+(?:really\s+)?(?:needed|necessary|required)|\s+(?:unnecessary|superfluous"
    r"|redundant))(?=\s*(?:[.!?;,]|$))",
    re.I,
)
# The same in fr, es, pt, it, de, ru: "Le résumé n'est pas nécessaire", "Sobran las tablas" (verb first: in
# _NEGATIONS), "O resumo é desnecessário", "Il riassunto non serve", "Tabellen sind nicht nötig", "Die
# Zusammenfassung brauche ich nicht", "Таблицы не нужны", "Заголовки лишние"
_NOT_NEEDED_EU = re.compile(
    r"\s+(?:(?:n'est|ne\s+sont)\s+pas\s+(?:n[ée]cessaires?|utiles?|indispensables?)|(?:est|sont)\s+(?:inutiles?"
    r"|superflu(?:e|s|es)?|de\s+trop)|(?:es|son)\s+(?:innecesari[oa]s?|superflu[oa]s?)|no\s+(?:es|son)\s+necesari[oa]s?"
    r"|sobra(?:n)?|(?:ist|sind)\s+(?:nicht\s+(?:n[öo]tig|notwendig|erforderlich)|unn[öo]tig|[üu]berfl[üu]ssig)"
    r"|(?:brauche|brauchen)\s+(?:ich|wir)\s+nicht|non\s+(?:serv(?:e|ono)|[èe]\s+necessari[oa]|sono\s+necessari[ie])"
    r"|(?:[èe]|sono)\s+(?:inutil[ei]|superflu[oaie])|(?:[ée]|s[ãa]o)\s+(?:desnecess[áa]ri[oa]s?|sup[ée]rflu[oa]s?)"
    r"|n[ãa]o\s+(?:[ée]|s[ãa]o)\s+necess[áa]ri[oa]s?|не\s+нуж(?:ен|на|но|ны)|(?:—\s*)?лишн(?:ий|яя|ее|ие))"
    r"(?=\s*(?:[.!?;,]|$))",
    re.I,
)
_DEICTIC = frozenset(
    [
        "it",
        "this",
        "that",
        "these",
        "those",
        "which",
        "what",
        "ce",
        "ça",
        "cela",
        "ceci",
        "esto",
        "eso",
        "isso",
        "isto",
        "das",
        "dies",
        "questo",
        "quello",
        "это",
        "то",
    ]
)

# A suffix negation that says "not A but B" when a clause follows it: "표를 쓰지 말고 문단으로 써 주세요",
# "箇条書きではなく、文章で書いて" ask for B.
_NOT_BUT = re.compile(r"(?:말고|(?:では|じゃ)なく(?:て)?)$")
_CLAUSE_END = re.compile(r"[.!?;:,，。！？；：、\n]")

# "Without X" that complains of X's absence asks for X: "Without an example it's hard to follow", "Без примера
# непонятно"; not "Without tables it reads better", which refuses them.
_WITHOUT = re.compile(r"\b(?:without|sin|sans|senza|sem|ohne|без)\s*$", re.I)
_LACKING = re.compile(
    r"\b(?:hard|unclear|difficult|confusing|impossible|lost|dif[íi]cil|imposible|incomprensible|perdid[oa]|difficile"
    r"|incompr[ée]hensible|perdu|confus|schwer|unklar|unverst[äa]ndlich|verloren|incompreensível|confuso|perso"
    r"|непонятно|неясно|сложно|трудно|тяжело|невозможно)\b",
    re.I,
)
_DO_THIS = re.compile(r"^(?:do\s+)?(?:this|that|it)\s*[:,-]\s*", re.I)  # "Don't do this: X" -> X
_EXCESS = re.compile(r"^(?:be\s+)?(?:too|so|overly)\b|^太", re.I)
_LEADING_PLEASE = re.compile(r"^(?:please|pls|plz|kindly)(?:[,\s]+|$)|^请", re.I)
# A clause that replaces the negated request before it: "No lists, just prose", "别分点，而是写成一段话".
# The same inside a clause, when the comma before it was not typed: a word that only ever introduces the
# replacement ("just" and "only" qualify the negated request itself as often: "don't use just bullets").
_ALTERNATIVE_INLINE = re.compile(
    r"(?<=\s)(?:rather(?!\s+than)|instead(?!\s+of)|sondern|lieber|plutôt|piuttosto|invece|而是)\s|(?<=[\u4e00-\u9fff])而是",
    re.I,
)
_ALTERNATIVE = re.compile(
    r"^(?:just|only|rather|solo|sólo|sino|juste|seulement|nur|sondern|soltanto|só|apenas|только|лучше)\b"
    r"|\b(?:instead|plutôt|invece|piuttosto|stattdessen|lieber|en\s+su\s+lugar|à\s+la\s+place|em\s+vez\s+disso"
    r"|вместо\s+этого)\b|^(?:而是|只要|只用|就用|改用|改成|换成|代わりに|대신)"
    # "Less jargon, more plain words", "Menos robótico, mais humano"
    r"|^(?:more|más|mais|plus|più|mehr|meer|больше)\s",
    re.I,
)

# Chatter: laughter, thanks, acknowledgements, emoji; never a request.
_CHATTER = re.compile(
    # an interjection may come first: "bof, peu importe", "boh, fa lo stesso", "ну, всё равно"
    r"^(?:(?:bof|boh|bah|beh|mah|meh|eh|ah|oh|pf+|ну|эх|ой)[\s,.!]+)?"
    r"(?:l+o+l+|lmao|rofl|ha(?:ha)+|he(?:he)+|ok(?:ay)?|k|cool|nice|great|wow|thanks?(?: you)?|thx|ty|yes|no|yep"
    r"|nope|meh|hmm+|good|fine|sure|whatever|bye|hi|hello|哈+|呵+|嘻+|谢谢|多谢|好的?|嗯+|行|不错|可以|牛|赞|ok了"
    r"|[ㅋㅎᄏᄒ]+|감사합니다|고마워요?|좋아요|ありがとう(?:ございます)?|w+|草|笑|謝謝|多謝|讚+|辛苦(?:你|您)?了"
    r"|bedankt|dank(?:je|jewel|uwel)|dzięki|dzieki|dziękuję|dziekuje|teşekkürler|tesekkurler|sağol|eyvallah"
    r"|شكرا|مرحبا|ه{3,}|ممتاز|رائع|5{3,}|ขอบคุณ\S*|สวัสดี\S*|เยี่ยม\S*|ดีมาก\S*"
    # indifference: "whatever" in Spanish, French, German, Italian, Portuguese, Russian
    r"|(?:y\s+)?qu[ée]\s+m[áa]s\s+da|(?:me\s+)?da\s+igual|lo\s+que\s+sea|peu\s+importe|(?:c'est\s+)?pas\s+grave"
    r"|(?:ist\s+(?:mir\s+)?)?egal|(?:mi\s+)?non\s+importa|fa\s+lo\s+stesso|tanto\s+faz|tanto\s+fa|вс[её]\s+равно"
    r"|без\s+разницы"
    # resignation: "oh well", "too bad" ("Bon, tant pis.", "Na gut.", "Va be'.", "Ну ладно.")
    r"|(?:bon|bueno|eh\s+bien)?[\s,]*tant\s+pis|na\s+(?:gut|ja|schön)|va\s+be(?:ne)?'?|(?:ну\s+)?ладно|ni\s+modo"
    # declining to say something: "I'd rather not say"
    r"|(?:i'?d|i\s+would)\s+(?:rather|prefer)\s+not\s+(?:to\s+)?(?:say|share|tell|comment|answer|talk)(?:\s+(?:that|it))?)"
    r"[\s!.?~。！？]*$",
    re.I,
)

# Praise and courtesy, one clause of it: what a satisfied user writes ("Spot on.", "Much appreciated.",
# "Exactly what I needed.", "先谢谢了", "助かりました"). Many users write it, so read as a request it became a
# theme and then a rule ("Good stuff."). A clause of praise before a request ("Perfect, but shorter next time")
# leaves the request a request: a text is chatter only when each of its clauses is.
_PRAISE = re.compile(
    r"^(?:(?:that|this|it)(?:'s|\s+is|\s+was)\s+|you(?:'re|\s+are)\s+)?(?:(?:really|very|so|super|truly|most"
    r"|extremely|incredibly|quite)\s+)*(?:"
    r"(?:much|greatly|truly|really|very\s+much)\s+appreciated|(?:i|we)?\s*(?:really\s+)?appreciate\s+(?:it|that|this"
    r"|(?:the|your)\s+help)|(?:nice|good|great)\s+(?:one|stuff|work|job)|well\s+done|works\s+for\s+me|that\s+works"
    r"|(?:exactly|just|precisely)\s+what\s+(?:i|we)\s+(?:needed|wanted|was\s+looking\s+for|were\s+looking\s+for)"
    r"|spot\s+on|on\s+point|keep\s+(?:it\s+)?up(?:\s+the\s+good\s+work)?|(?:the\s+|a\s+)?(?:best|lifesaver|star"
    r"|genius)|(?:helpful|useful|clear|informative|brilliant|excellent|superb|fantastic|wonderful|perfect|great"
    r"|awesome|amazing|good|nice|solid)(?:\s+(?:answer|response|reply|explanation|work|stuff))?(?:\s+as\s+always)?"
    r"|thank\s+you(?:\s+(?:so|very)\s+much|\s+kindly)?|thanks\s+(?:a\s+(?:lot|million|bunch|ton)|so\s+much)"
    r"|many\s+thanks|cheers(?:\s+mate)?|(?:that\s+)?help(?:s|ed)(?:\s+a\s+lot)?"
    # Chinese and Japanese and Korean
    r"|先?谢谢(?:了|啦|你|您)*|多谢(?:了|啦)?|(?:非常|十分|万分)?感谢(?:你|您)?(?:的帮助)?|麻烦(?:你|您)?了|太(?:好|棒)了"
    r"|正是我(?:需要|想要)的|(?:回答|解答|讲|说)得(?:很|非常|太|真)?(?:好|棒|清楚|到位)(?:了)?|(?:很|非常)?有(?:帮助|用)"
    r"|(?:很|非常)实用|厉害|学到了|完美|给力|帮(?:了)?大忙了?"
    r"|助かり(?:ました|ます)|完璧(?:です)?|(?:とても|すごく)?分かりやすかった(?:です)?|素晴らしい(?:です)?"
    r"|도움이\s*(?:많이\s*)?(?:됐|되었)어요|최고(?:예요|에요)?|완벽해요|(?:정말\s*)?(?:감사합니다|고맙습니다)|유용했어요"
    # Spanish, French, German, Italian, Portuguese, Russian
    r"|(?:justo|exactamente)\s+lo\s+que\s+(?:necesitaba|buscaba|quería)|te\s+lo\s+agradezco"
    r"|(?:muy\s+)?(?:buena|excelente|gran)\s+respuesta|(?:muy|súper)\s+útil"
    r"|(?:c'est\s+)?exactement\s+ce\s+(?:dont\s+j'avais\s+besoin|qu'il\s+me\s+fallait|que\s+je\s+cherchais)"
    r"|merci\s+pour\s+(?:ton|votre|l')\s*aide|(?:très\s+)?bonne\s+réponse|(?:très|super)\s+utile"
    r"|genau\s+das,?\s+was\s+ich\s+(?:brauchte|gesucht\s+habe|wollte)|danke\s+für\s+(?:die|deine|ihre)\s+hilfe"
    r"|(?:sehr\s+)?gute\s+antwort|(?:sehr|super)\s+hilfreich"
    r"|(?:esattamente|proprio)\s+quello\s+che\s+(?:mi\s+serviva|cercavo|volevo)|grazie\s+per\s+l'aiuto"
    r"|ottima\s+risposta|(?:molto|super)\s+utile|utilissim[oa]"
    r"|(?:exatamente|bem|justamente)\s+o\s+que\s+eu\s+(?:precisava|procurava|queria)|obrigad[oa]\s+pela\s+ajuda"
    r"|ótima\s+resposta|muito\s+útil"
    r"|(?:именно|как\s+раз)\s+то,?\s+что\s+(?:нужно|надо|я\s+искал[аи]?)|спасибо\s+за\s+помощь"
    r"|отличный\s+ответ|(?:очень\s+)?полезно|благодарю"
    r")(?:\s+(?:then|again|too|indeed))?$",
    re.I,
)


# Thanks, praise and greetings in Spanish, French, German, Italian, Portuguese and Russian.
_EU_CHATTER = (
    "gracias muchas mil merci beaucoup danke schön schon sehr vielen dank grazie mille obrigado obrigada muito"
    " спасибо большое огромное отлично хорошо класс круто супер спс vale genial génial super parfait perfecto"
    " perfetto perfeito excelente excellent toll prima bravo ottimo ótimo hola bonjour salut hallo ciao olá"
    " привет bien bueno buena muy très bon bonne gut bene bom boa очень jaja jeje mdr xd"
)
# The same in Dutch, Polish, Turkish and Arabic (Thai writes no spaces: its thanks are in _CHATTER).
_MORE_CHATTER = (
    "bedankt dank je wel dankjewel dankuwel heel goed leuk top mooi fijn"
    " dzięki dziękuję dziekuje bardzo dobra robota dobre świetnie fajnie"
    " çok teşekkürler teşekkür ederim sağ ol harika eline sağlık güzel süper iyi"
    " شكرا لك جزيلا ممتاز رائع جميل جدا مرحبا"
)
_CHATTER_WORDS = frozenset(
    [
        "great",
        "perfect",
        "awesome",
        "amazing",
        "love",
        "it",
        "this",
        "that",
        "so",
        "very",
        "much",
        "really",
        "lol",
        "thanks",
        "thank",
        "you",
        "good",
        "nice",
        "cool",
        "ok",
        "okay",
        "wow",
        "haha",
        "answer",
        "job",
        "work",
        "too",
        *_EU_CHATTER.split(),
        *_MORE_CHATTER.split(),
    ]
)

# English request cues (a statement is directive when one is present, or it opens with a verb-like word).
_EN_CUES = re.compile(
    r"\b(?:please|pls|should|must|need|needs|want|wanted|prefer|would\s+like|could\s+you|can\s+you|too|more|less"
    r"|fewer|shorter|longer|instead|rather|better|only|always|max|maximum|at\s+most"
    r"|at\s+least|no\s+more"
    # as typed in a chat box: a wish ("i wish it had examples"), a complaint as a question ("why so long",
    # "why no sources??", "why is it so long"), what is missing or hard to follow ("sources are missing")
    r"|wish(?!\s+(?:you|u)\s+(?:a|an|all|luck)\b|\s+me\b)|why\s+(?:so|no|not)|why\s+(?:is|are)\s+(?:it|this|that|there|the\s+\w+)\s+(?:so|no|not)"
    r"|missing|lacks|lacking|unclear|confusing|hard\s+to\s+(?:read|follow|understand)"
    # "an example would help add one", "a table would be clearer": the comma before the request left out
    r"|would\s+help|would\s+be\s+(?:\w+er|nice|good|great|helpful|useful))\b",
    re.I,
)
# A clause whose second word is a copula describes its first ("app is slow today", "site was down"): a remark,
# unless a cue above makes it a request ("answer is too long", "sources are missing").
_COPULAS = frozenset(["is", "was", "are", "were", "isn't", "wasn't", "aren't", "weren't", "seems", "looks", "feels"])
# Words that open a statement about something (not a request) in English.
_EN_NOT_IMPERATIVE = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "it's",
        "i",
        "i'm",
        "im",
        "my",
        "me",
        "we",
        "our",
        "you",
        "you're",
        "your",
        "he",
        "she",
        "they",
        "their",
        "there",
        "here",
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "what",
        "which",
        "who",
        "why",
        "how",
        "when",
        "where",
        "lol",
        "haha",
        "thanks",
        "thank",
        "ok",
        "okay",
        "no",
        "yes",
        "that's",
        "thats",
        "not",
        # connectives that open a remark, not an instruction: "Otherwise I can't use the answer."
        "otherwise",
        "because",
        "since",
        "although",
        "though",
        # a remark whose "I" or "it" is left out: "Hope that makes sense.", "Sounds good."
        "hope",
        "hoping",
        "guess",
        "seems",
        "sounds",
        "looks",
        "feels",
    ]
)
# The same for Spanish, French, German, Italian and Portuguese (articles, pronouns, copulas, thanks and
# greetings): "la página es lenta", "le site est lent", "die Seite ist langsam" are remarks. Not "eu", "un",
# "on", "as" or "super", which open English requests too ("EU law first", "As short as possible").
_EU_OPENERS = (
    "el la los las una unos unas esto este esta eso esa ese es está están son era fue muy yo mi mis tu su hay que qué"
    " lo le se me te nos gracias hola vale bien bueno buena genial perfecto excelente"
    " les l' une des du ce c' cet cette ces ça ca je j' il elle ils elles mon ma mes ton est sont très merci"
    " bonjour salut parfait génial nul qu' s'"
    " der die das den dem ein eine einen es ist sind war sehr ich mein meine du sie wir danke hallo gut toll prima echt"
    " gli questo questa è sono molto io mio mia grazie ciao bene bravo ottimo perfetto"
    " o os uma isso isto esse essa é são muito meu minha obrigado obrigada olá bom boa ótimo perfeito"
    # "already": "ya está", "já resolvi", "c'est déjà fait", "hat sich schon erledigt"
    " ya já déjà già schon hat habe haben hatte"
    # Dutch, Polish, Turkish, and Arabic pronouns and demonstratives
    " de het een dit dat deze zijn waren erg heel ik mijn je jij jouw uw wij ons onze hij zij ze er hier bedankt"
    " dankjewel leuk mooi geweldig"
    " nie to ten ta te jest są był była było bardzo ja mój moja moje ty twój twoja nasz nasza ona oni tu tutaj mam"
    " jestem dzięki dziękuję cześć świetnie dobrze fajnie"
    " bu şu ben sen biz siz onlar benim senin teşekkürler teşekkür sağ harika güzel merhaba selam bugün"
    " أنا انا أنت انت هذا هذه ذلك تلك هو هي نحن هم شكرا لا ما لم لن هل"
)
_EU_NOT_IMPERATIVE = frozenset(_EU_OPENERS.split())
_NOT_IMPERATIVE = _EN_NOT_IMPERATIVE | _EU_NOT_IMPERATIVE
# Request cues of those languages and Russian: please, I would like, should, too / more / less, always / only.
_EU_PLEASE = r"por\s+favor|porfa|s'il\s+(?:vous|te)\s+pla[iî]t|svp|stp|bitte|per\s+favore|пожалуйста"
_EU_CUES = re.compile(
    r"\b(?:"
    + _EU_PLEASE
    + r"|quiero|quisiera|me\s+gustar[ií]a|prefiero|necesito|deber[ií]a\w*|je\s+veux|je\s+voudrais|je\s+pr[ée]f[èe]re"
    r"|il\s+faut|devrait|ich\s+m[öo]chte|ich\s+will|ich\s+h[äa]tte\s+gerne?|ich\s+bevorzuge|sollte\w*|vorrei|voglio"
    r"|preferisco|dovrebbe|quero|queria|gostaria|prefiro|deveria|хочу|хотелось\s+бы|предпочитаю|нужно|надо"
    r"|demasiado|m[áa]s|menos|trop|plus|moins|zu|mehr|weniger|troppo|pi[ùu]|meno|demais|слишком|больше|меньше"
    r"|siempre|s[óo]lo|toujours|seulement|immer|nur|sempre|apenas|всегда|только"
    # Dutch, Polish, Turkish
    r"|graag|alsjeblieft|alstublieft|moet|moeten|zou|liever|meer|minder|korter|langer|eerst|altijd|alleen"
    r"|maximaal|hoogstens|kun\s+je|kunt\s+u|ik\s+wil|proszę|prosze|powin\w+|chcę|chciał\w*|wolę|więcej|mniej"
    r"|krócej|dłużej|prościej|zawsze|tylko|najpierw|maksymalnie|lütfen|lutfen|daha|önce|sadece|yalnızca|mutlaka"
    r"|gerek\w*|olmalı|istiyorum|fazla|tercih\w*"
    # asking with a condition: "Je préférerais...", "Tu pourrais...", "Ich würde mir...", "Mi piacerebbe..."
    r"|je\s+pr[ée]f[ée]rerais|j'aimerais|tu\s+pourrais|vous\s+pourriez|pourriez-vous|pourrais-tu|peux-tu|pouvez-vous"
    r"|ich\s+w[üu]rde|ich\s+w[üu]nsche|k[öo]nntest|mi\s+piacerebbe|potresti|preferirei|podr[ií]as|poderia"
    r"|предпоч\w+|можешь|можете|могли\s+бы|мог\s+бы|хотел(?:а|ось)?\s+бы"
    # can you, in the present ("Tu peux montrer un exemple ?", "Du kannst mich duzen."); what is needed, a limit, a
    # place ("Нужен пример.", "Максимум сто слов.", "Сразу к делу.", "La conclusione va all'inizio.")
    r"|tu\s+peux|vous\s+pouvez|puedes|kannst\s+du|du\s+kannst|k[öo]nnen\s+sie|puoi|voc[êe]\s+pode|podes"
    r"|нужен|нужна|нужны|максимум|минимум|не\s+(?:более|больше)|хотя\s+бы|сразу\s+к"
    r"|va\s+(?:all'inizio|alla\s+fine|al\s+principio|al\s+final|au\s+d[ée]but|à\s+la\s+fin))\b",
    re.I,
)
# An order asked for, with no verb: "La réponse d'abord, les détails ensuite.", "Сначала суть, потом подробности."
_ORDER = re.compile(
    r"(?:\b|(?<=d'))(?:abord|primero|zuerst|erst|prima|primeiro|сначала)\b.*?\b(?:ensuite|puis|luego|despu[ée]s|dann"
    r"|poi|depois|потом|затем)\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(?:je|j'|yo|ich|io|eu|я|mi|me|mich|mir)\b", re.I)
# A Russian imperative ends so ("пиши", "будь", "используй", "ответьте"); "спасибо", "сайт тормозит" do not.
_RU_IMPERATIVE = re.compile(r"^[а-яё]+(?:й|йте|и|ите|ь|ьте)(?:сь|ся)?$")  # "обращайся", "обращайтесь"
_RU_COMPARATIVE = re.compile(r"^[а-яё]+(?:ее|ей|че|ще|ше|же)$")  # "короче", "подробнее", "проще"
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_NOT_LATIN_LETTER = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")  # a word of any script, "l'article" one word
_ELISION = re.compile(r"^(l|c|j|d|qu|s|n|m|t)['’]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
# Japanese and Korean request cues (polite and plain imperatives, wishes, "more/less", "first").
_JA_CUES = re.compile(
    r"ください|下さい|てほしい|て欲しい|してほしい|お願い|べき|ように|しないで|ないで|してくれ|して|にして|もっと|より|短く|簡潔|詳しく|先に|まず"
    r"|[てで](?=[。！!]|\s*$)"  # a te-form that ends its clause asks: "結論を最初に書いて。", "例を挙げて。"
)
_KO_CUES = re.compile(
    r"주세요|주십시오|줘|줄래|주실래요|부탁|하세요|하십시오|마세요|마십시오|바랍니다|좋겠|했으면|해야|하지\s*마|먼저|더\s|덜\s|짧게|간단히|자세히"
)
_ZH_CUES = re.compile(
    r"请|应该|应当|需要|希望|要求|能不能|可不可以|麻烦|最好|先|再|多|少|更|太|别|不要|不用|避免|直接|改成|换成|用(?![不了户戶过過处處途得])|给出|加上|列出|写(?!得)|说明|解释|注明|引用|分点|简短|简洁|详细"
    r"|請|應該|應當|麻煩|別|改為|換成|給出|寫(?!得)|說明|解釋|註明|分點|條列|簡短|簡潔|詳細|舉|以内|以內|控制在|不超过|不超過"
    # as typed in a chat box, with no 请: "说重点", "给个例子呗", "来个总结", "总结一下", "简单点说", "结论放前面",
    # a wish ("要是有出处就好了"), a question for what is missing ("有出处吗", "有没有例子")
    r"|(?:^|[，,。！!？?\s])(?:[说講讲](?![得实實真了过過])|把)|给个|给我|給個|給我|来个|来点|來個|來點"
    r"|(?:总结|總結|解释|解釋|说明|說明|改|优化|優化|整理|精简|精簡|概括|展开|展開|补充|補充|润色|潤色|调整|調整|简化|簡化|讲|講|说|說)一下"
    r"|[短长長简簡细細浅淺深快慢]一?[点點]|(?:简单|簡單|通俗|具体|具體|清楚|直白|正式|专业|專業|易懂|明白|口语|口語)一?[点點]"
    r"|放(?:在)?(?:前面|最前|开头|開頭|后面|後面|最后|最後|结尾|結尾)|就好了|就更好了|有(?:没有|沒有)?(?![人用空意事问問])[^，。！？]{1,8}[吗嗎么]"
    # a clause that opens with the verb of a request, no 请: "加一个例子", "也要提到风险", "告诉我该怎么做", "标出重点"
    r"|(?:^|[，,。！!？?；;\s])(?:也|还|還|都|再|另外)?(?:要(?![是不么麼])|加(?![油班载載密盟速拿])|添加|增加|补(?![偿償贴貼习習])"
    r"|補(?![償貼習])|附(?![近和属屬件])|列(?:出|举|舉|个|個|一)|标(?:出|注|明|上)|標(?:出|註|明|上)|提到|提及|提一下|提供(?!的)|告诉|告訴|告知"
    r"|举(?![报報办辦行])|配(?:上|一|个|個|张|張|图|圖)|强调|強調|突出|指出|对比|對比|区分|區分|分(?:步骤|步驟|步|段|条|條|开|開|成)"
    r"|编号|編號|删|刪|去掉|省略)"
)
# Arabic request cues ("please", "should", "I want", "more / less", "only", "first", "briefly")
_AR_CUES = re.compile(r"من\s+فضلك|لو\s+سمحت|رجاء|أرجو|يرجى|يجب|ينبغي|أريد|نريد|أفضل|أكثر|أقل|فقط|دائما|أولا|باختصار")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
# Thai request cues: please, help to, ask for (not ขอบคุณ, thanks), should, want, give / make, use, write,
# explain, summarise, example, answer, first, short, easy, detailed, more, less, as points
_TH_CUES = re.compile(
    r"กรุณา|โปรด|ช่วย|ขอ(?!บคุณ)|ควร|ต้องการ|อยาก|ให้|ด้วย|หน่อย|เพิ่ม|ใส่|ใช้|เขียน|อธิบาย|สรุป|ยกตัวอย่าง|ตอบ|บอก|ระบุ"
    r"|อ้างอิง|ก่อน|สั้น|ง่าย|ละเอียด|มากขึ้น|น้อยลง|เป็นข้อ"
)
_THAI = re.compile(r"[\u0e00-\u0e7f]")
# Polish and Turkish, told apart from the other languages of Latin script by their letters or common
# words. A Polish request opens with an imperative ("Podaj", "Napisz", "Zacznij", "Skróć"), a remark with a
# noun ("Strona się ładuje"); a Turkish request ends with one ("Önce sonucu yaz", "Kaynakları belirtin").
_POLISH = re.compile(r"[ąćęłńśźżĄĆĘŁŃŚŹŻ]|(?i:\b(?:się|jest|proszę|że|czy|bardzo)\b)")
_PL_IMPERATIVE = re.compile(r"(?:j|ń|ć|ż|sz|rz|cz|w|b|dź|ś|cie)$")
# not re.I: "ı" ~ "i"; "ve" ("and") not first: Spanish "Ve al grano" ("go straight to the point")
_TURKISH = re.compile(r"[ğışĞŞİ]|(?i:\b(?:bir|bu|çok|daha|lütfen|için|ile|gibi|değil)\b|(?<=\s)ve\b)")
_TR_IMPERATIVE = re.compile(r"(?:" + _TR_VERBS + r")(?:y?[ıiuü]n(?:[ıiuü]z)?)?|\w+y?[ıiuü]n[ıiuü]z")

# Promotion of a third party: links, contacts, trademarks alone; a push ("recommend", "buy", "推荐")
# with something to push (a brand-like or proper name, a quoted name, "my blog", "我们的公司"); a
# mention of the user's own things ("add a link to my blog"); "X is the best ...". A commercial word
# alone is not enough: "买卖合同" (a sales contract), "关注法律风险" (mind the legal risks),
# "product liability" and "广告法" (advertising law) are requests about the answer.
_URL = re.compile(
    r"https?://|www\.|\b[\w-]+\.(?:com|net|org|io|cn|co|shop|store|app)\b"
    # spelled out or defanged: "lawhelp-now dot com", "example[.]com", "example(.)org"
    r"|\b[\w-]+(?:\s+dot\s+|\s*\(\s*(?:\.|dot)\s*\)\s*|\s*\[\s*(?:\.|dot)\s*\]\s*)(?:com|net|org|io|cn|co|info|biz)\b",
    re.I,
)
# a discount to hand out: "code SAVE20", "promo code LEGAL50", "20% off", "my referral link"
_CODE = re.compile(
    r"\b(?i:code|coupon|voucher|gutscheincode|código|cupón|codice)\s*:?\s*[A-Z]{2,}\d+[A-Z0-9]*\b|\b\d{1,3}\s?%\s?(?i:off)\b"
    r"|(?i:\breferral\s+(?:link|code))"
)
_CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+\.\w+|\d(?:[\s().-]{0,2}\d){8,}|\[(?:EMAIL|PHONE|URL)\]"  # as PII redaction leaves them
    r"|wechat|whatsapp|telegram|微信|qq号|加我|联系(?:我|客服|电话)",
    re.I,
)
_MARKS = re.compile(r"[™®©]")
_PUSH = re.compile(
    r"\b(?:recommend\w*|suggest\w*|promot\w*|advertis\w*|buy|buying|purchas\w*|order\s+from|shop\s+at|sponsor\w*|endors\w*"
    r"|plug|discount|coupon|promo\s+code|affiliate|subscribe\s+to|sign\s+up|download|brought\s+to\s+you\s+by|powered\s+by"
    r"|recomiend\w*|recomend\w*|compr[ae]\w*|recommand\w*|achet\w*|consigli\w*|raccomand\w*|acquist\w*"
    r"|aanbe\w*|beveel\w*|aanrad\w*|raad|koop\w*|kopen|polec\w*|poleć\w*|kup\w*|reklam\w*|öner\w*|tavsiye\w*"
    r"|satın\s+al\w*)\b"
    r"|推荐|推广|宣传|购买|下单|订购|优惠|折扣|促销|打折|推薦|推廣|宣傳|購買|訂購|優惠|促銷|おすすめ|オススメ|推奨|宣伝|購入"
    r"|買って|추천|구매|홍보|광고|사세요|أوص|انصح|أنصح|اشتر|يشتر|تشتر|شراء|روّج|روج|إعلان|แนะนำ|ซื้อ|โฆษณา|โปรโม",
    re.I,
)
# German capitalises every noun, so a capital mid-sentence is no name after a German verb.
_PUSH_DE = re.compile(r"\b(?:empfehl\w*|empfiehl\w*|kauf\w*|werb\w*)\b", re.I)
_MENTION = re.compile(
    r"\b(?:mention\w*|include|add|link\w*|say|tell\w*|point|send|refer|plug|follow|talk\s+about|direct|invite)\b"
    r"|提到|提及|加上|附上|说|关注|介绍"
    r"|\b(?:erwähn\w*|nenn\w*|menciona\w*|mencione\w*|incluy\w*|inclua|mentionne\w*|cite[zs]?|ajoute\w*"
    r"|menziona\w*|aggiung\w*|includi\w*|noem\w*|vermeld\w*|verwijs\w*|wspomnij\w*|wspominaj\w*|dodaj\w*"
    r"|podaj\w*|belirt\w*|bahset\w*|ekle\w*|اذكر|أذكر|أضف|ضع|أشر|قل|رابط)\b|ใส่|บอก|กล่าวถึง|พูดถึง|ลิงก์"
    r"|提及|附上|說|關注|介紹",
    re.I,
)
_NOT_FOR = r"(?<!\bfor\s)(?<!\bpara\s)(?<!\bpour\s)(?<!\bper\s)(?<!\bfür\s)(?<!\bvoor\s)(?<!\bdla\s)"
_OWN = re.compile(  # not "for my company", "para mi empresa": the user's own situation, not a push
    _NOT_FOR + r"\b(?:my|our)\s+(?:[\w-]+\s+){0,2}(?:blog|site|website|channel|shop|store|company|firm|products?|app"
    r"|course|newsletter|brand|page|account|podcast|book|services?|platform|business|youtube|instagram|twitter|tiktok"
    r"|discord|telegram|whatsapp|slack|patreon|substack|community)\b"
    r"|(?:我的|我们的|我们|本公司|本店|我司|本平台)[\u4e00-\u9fff]{0,6}?"
    r"(?:公司|店铺|店|网站|官网|频道|产品|品牌|课程|公众号|账号|平台|博客|服务|书)"
    # German, Spanish, Portuguese, French, Italian: "unsere Kanzlei", "nuestra aplicación", "notre cabinet"
    r"|"
    + _NOT_FOR
    + r"\b(?:unser\w*|mein\w*|nuestr[oa]s?|mis?|noss[oa]s?|meus?|minhas?|notre|nos|mon|ma|mes|nostr[oaie]|mio|mia|miei"
    r"|mie)\s+(?:[\w-]+\s+)?(?:kanzlei|firma|unternehmen|shop|laden|website|webseite|seite|kanal|produkte?|app|kurs"
    r"|newsletter|marke|dienste?|dienstleistung\w*|blog|buch|plattform|empresa|tienda|loja|sitio|web|página|canal"
    r"|productos?|produtos?|aplicación|aplicativo|curso|boletín|marca|servicios?|serviços?|despacho|bufete"
    r"|escritório|libro|livro|plataforma|entreprise|société|boutique|site|chaîne|produits?|application|appli"
    r"|cours|marque|services?|cabinet|livre|plateforme|azienda|negozio|sito|canale|prodott[oi]|corso|marchio"
    r"|servizi[oi]?|studio|piattaforma)\b"
    r"|弊社|当社|저희\s*회사"
    # Dutch, Polish: "onze webshop", "naszego sklepu"
    r"|"
    + _NOT_FOR
    + r"\b(?:onze|ons|mijn|nasz\w*|mo(?:j|ją|je|jej|jego|jemu|im)|mój)\s+(?:[\w-]+\s+)?(?:webshop|winkel|website|site"
    r"|bedrijf|kantoor|producten|product|app|kanaal|blog|merk|diensten|dienst|cursus|nieuwsbrief|praktijk|pagina"
    r"|sklep\w*|stron\w*|firm\w*|produkt\w*|aplikacj\w*|kanał\w*|blog\w*|mark\w*|usług\w*|kurs\w*|kancelari\w*"
    r"|serwis\w*)\b"
    # Turkish, Arabic and Thai mark "our" on the noun, traditional Chinese as the simplified does
    r"|\b(?:mağaza|site|şirket|ürün|ürünler|uygulama|kanal|hizmetler|marka|sayfa|büro)(?:ımız|imiz|umuz|ümüz|mız|miz"
    r"|muz|müz)\w*"
    r"|(?:متجر|موقع|شركت|منتجات|منتج|قنات|تطبيق|خدمات|علامت|مدونت|صفحت|محل|مكتب)نا"
    r"|(?:ร้าน|บริษัท|เว็บ|เว็บไซต์|สินค้า|แบรนด์|ช่อง|เพจ)(?:ของ)?เรา"
    r"|(?:我們的|我們|本公司|本店)[\u4e00-\u9fff]{0,6}?(?:公司|店鋪|店|網站|官網|頻道|產品|品牌|課程|公眾號|帳號|平台|部落格"
    r"|服務|書)",
    re.I,
)
_BRANDLIKE = re.compile(  # AcmeCloud, BrandX, iPhone, BRANDco, Model3; not GDPR or EU (also before "を", "를")
    r"(?<![A-Za-z])(?:[A-Z][a-z]+[A-Z][A-Za-z0-9]*|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z]{2,}[a-z]+[A-Za-z0-9]*|[A-Z][a-z]*\d[A-Za-z0-9]*)"
    r"(?![A-Za-z0-9])"
)
# A name in the middle of a sentence ("buy the Nike Air shoes"); the first word of a clause is not one.
_PROPER = re.compile(r"(?<![.!?:;]\s)(?<![.!?:;])(?<!^)(?<!^\W)\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_QUOTED = re.compile(r"[“\"「『《‘][^”\"」』》’]{2,30}[”\"」』》’]")
_BRAND_WORDS = re.compile(
    r"品牌|牌子|产品|官网|旗舰店|店铺|公众号|產品|官網|旗艦店|店鋪|公眾號|منتجات|ماركة|สินค้า|แบรนด์|ยี่ห้อ"
    r"|\b(?:brand|products?|marke|produkte?|marca|productos?|produtos?|marque|produits?|marchio|prodott[oi]|merk"
    r"|producten|produkt\w*|mark[aię]|marka\w*|ürün\w*)\b",
    re.I,
)
_BEST = re.compile(
    r"\b[A-Z][\w-]+(?:\s+[a-z]+)?\s+(?:is|are|makes?|has|have|sells?|offers?|gives?)\s+(?:the\s+)?"
    r"(?:best|greatest|top|number\s+one|#1|cheapest)\b"
    r"|是最好的|最好的品牌|第一品牌"
)


class Statement(NamedTuple):
    """One user request, as the evidence behind a theme."""

    text: str  # what the user wrote, normalised (one line, at most MAX_STATEMENT_CHARS)
    core: str  # the request without its negation: what the theme is about
    sign: int  # +1 asks for the core, -1 asks for its opposite
    directive: bool  # a request about the answer (not chatter, not a remark about something else)
    promotion: bool  # names a link, a contact, a brand or a product to push
    injection: bool = False  # embeds next to a prompt injection (set by processors.themes)


_ARABIC_PUNCTUATION = str.maketrans({"،": ",", "؛": ";", "؟": "?"})


# Typographic apostrophes (phones and word processors type "Don’t"), read as the ASCII one the patterns expect
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u201b\u02bc\u00b4\u2032\uff07", "'"))


def normalise(text: str) -> str:
    """One line, NFKC, plain apostrophes, collapsed spaces, at most MAX_STATEMENT_CHARS characters."""
    text = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES)).translate(_ARABIC_PUNCTUATION)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n")
    return " ".join(text.split())[:MAX_STATEMENT_CHARS]


def is_cjk(text: str) -> bool:
    return len(_CJK.findall(text)) * 2 >= max(1, len(text.replace(" ", "")) // 2)


def polarity(text: str) -> tuple[int, str]:
    """(+1 or -1, the core): the polarity of the statement's first request. -1 when that is a negated
    request, whose core is its clause without the negation ("Good, but don't use a table" -> "use a
    table": "Good" asks for nothing), unless a later clause replaces it ("No lists, just prose",
    "别分点，而是写成一段话": +1, the replacement); +1 when a request comes first, whatever follows ("Use
    prose, don't use lists" and "用连贯的文字,不要分点" ask for prose: they support it, not oppose lists)."""
    for pattern, replacement in _NEGATIONS:
        m = pattern.search(text)
        if m is None or _opener(m.groupdict().get("verb") or ""):
            continue
        if _asks_before(text[: m.start()]):
            break
        rest = re.split(r"[.!?;。！？；]", text[m.end() :], maxsplit=1)[0]
        if _WITHOUT.search(m.group()) and _LACKING.search(rest):  # "Without an example it's hard to follow"
            continue
        core = _DO_THIS.sub("", " ".join((m.expand(replacement) + rest).split())).strip(" ,.;:!?，。！？；：")
        if _EXCESS.match(core):  # "don't be too long" complains like "too long": the same request
            break
        if alternative := _alternative(text[m.end() :]):
            return 1, alternative
        if core:
            return -1, core
    for pattern, verb in ((_NOT_NEEDED, "include "), (_NOT_NEEDED_EU, "")):  # "Tables aren't necessary"
        if (m := pattern.search(text)) is None:
            continue
        start = _clause_start(text, m.start())
        head = re.sub(r"^(?:but|and|so|also|just)\s+", "", text[start : m.start()].strip(), flags=re.I)
        if head and head.split()[0].lower() not in _DEICTIC and not _asks_before(text[:start]):
            return -1, verb + head[0].lower() + head[1:]
    for pattern, replacement in _SUFFIX_NEGATIONS:
        m = pattern.search(text)
        if m is None:
            continue
        start = _clause_start(text, m.start())
        if _asks_before(text[:start]):
            break
        head = text[start : m.start()].strip()
        if _opener(head):  # "Ik snap het niet" (I don't get it) is a remark
            continue
        after = re.split(r"[.!?;。！？；]", text[m.end() :], maxsplit=1)[0].strip(" ,，、")
        if after and _NOT_BUT.search(m.group()):
            return 1, after
        if head:
            return -1, (replacement(head) if callable(replacement) else head + m.expand(replacement)).strip()
    return 1, _LEADING_PLEASE.sub("", text).strip(" .!?。！？") or text


def _clause_start(text: str, end: int) -> int:
    """Where the clause that runs up to ``end`` begins (after the last clause mark before it)."""
    return max((d.end() for d in _CLAUSE_END.finditer(text, 0, end)), default=0)


def _opener(text: str) -> bool:
    """Whether ``text`` opens with a word that opens a remark, not a request (an article, a pronoun...)."""
    words = _WORD.findall(text.lower())
    return bool(words) and words[0] in _NOT_IMPERATIVE


def _alternative(after: str) -> str | None:
    """The request that replaces a negated one, in the clauses after it ("No lists, just prose" asks for
    prose: it supports a prose theme, it does not oppose one), or None."""
    clauses = re.split(r"[,，;；.。!！?？:：\n]+", after)
    for clause in clauses[1:]:
        clause = _LEADING_PLEASE.sub("", clause.strip()).strip()
        if clause and _ALTERNATIVE.search(clause):
            return clause
    if len(clauses) == 1 and (m := _ALTERNATIVE_INLINE.search(after)):  # "no lists just prose": no comma typed
        return after[m.start() :].strip()
    return None


def _asks_before(head: str) -> bool:
    """Whether ``head`` (the text before a negation) holds a request of its own: a clause that, without
    its "please", is directive and not chatter."""
    for clause in re.split(r"[,，;；.。!！?？:：\n]+", head):
        clause = _LEADING_PLEASE.sub("", clause.strip()).strip()
        if clause and is_directive(clause):
            return True
    return False


def is_chatter(text: str) -> bool:
    """Laughter, thanks, praise, acknowledgements, emoji: no request in any of its clauses."""
    stripped = re.sub(r"[\W_]+", " ", text).strip()
    if not stripped:
        return True  # emoji or punctuation only
    words = stripped.lower().split()
    if _CHATTER.match(text.strip()) or all(_CHATTER.match(w) or w in _CHATTER_WORDS for w in words):
        return True
    return _praise_or(_CHATTER, text)


def is_courtesy(text: str) -> bool:
    """Thanks or praise of the answer ("great, thanks", "Spot on.", "先谢谢了"): chatter, but not off-topic, so
    it says nothing against the user who writes it (`processors.themes` weighs users by it)."""
    return _praise_or(_THANKS, text)


def _praise_or(other: re.Pattern, text: str) -> bool:
    """Praise as a whole ("Genau das, was ich brauchte."), or each clause praise or ``other``."""
    if _PRAISE.match(text.strip().rstrip(".!?。！？~ ")):
        return True
    clauses = [c.strip(" '\"~") for c in _CLAUSE_END.split(text) if c.strip(" '\"~")]
    return bool(clauses) and all(_PRAISE.match(c) or other.match(c) for c in clauses)


_THANKS = re.compile(
    r"^(?:thanks?(?:\s+you)?|thx|ty|谢谢|多谢|辛苦(?:你|您)?了|謝謝|多謝|감사합니다|고마워요?|ありがとう(?:ございます)?|gracias|merci|danke"
    r"|grazie|obrigad[oa]|спасибо|bedankt|dank\s*je(?:wel)?|dzięki|dziękuję|teşekkürler|شكرا|ขอบคุณ\S*)"
    r"(?:\s+(?:a\s+lot|so\s+much|very\s+much|in\s+advance|muchas|mil|beaucoup|schön|sehr|mille|muito|большое|you))*$",
    re.I,
)


def is_directive(text: str) -> bool:
    """A request about the answer: a request cue, or a clause that opens with a verb-like word (English,
    Spanish, French, German, Italian, Portuguese: a word that is not an article, a pronoun, a copula or a
    thank-you; Russian: an imperative ending).

    Languages of other scripts without a cue list here are given the benefit of the doubt (only chatter
    is refused); consensus and reliability (`processors.themes`) weigh them instead."""
    if is_chatter(text):
        return False
    if _HANGUL.search(text):
        return bool(_KO_CUES.search(text))
    if _KANA.search(text):
        return bool(_JA_CUES.search(text) or _ZH_CUES.search(text))
    if is_cjk(text):
        return bool(_ZH_CUES.search(text))
    if _THAI.search(text):
        return bool(_TH_CUES.search(text))
    if _EN_CUES.search(text) or _EU_CUES.search(text) or _AR_CUES.search(text):
        return True
    if _ORDER.search(text) and not _FIRST_PERSON.search(text):  # not "Zuerst habe ich gelesen, dann..."
        return True
    cyrillic = _CYRILLIC_LETTER.search(text) is not None
    arabic = _ARABIC.search(text) is not None
    if not cyrillic and not arabic and _NOT_LATIN_LETTER.search(text):
        return True
    polish, turkish = _POLISH.search(text) is not None, _TURKISH.search(text) is not None
    for clause in re.split(r"[.!?;:,\n]+", text):
        words = _WORD.findall(clause.lower())
        if not words:
            continue
        if cyrillic and len(words) > 1 and words[0] in ("но", "а", "и"):  # "Отлично, но короче."
            words = words[1:]
        elided = _ELISION.match(words[0])  # "l'article", "c'est": the article or pronoun
        first = elided.group(1) + "'" if elided else words[0]
        if first in _NOT_IMPERATIVE:
            continue
        if cyrillic:
            if _RU_IMPERATIVE.match(first) or _RU_COMPARATIVE.match(first):
                return True
        elif arabic:  # a clause that opens with a noun of the article ("الموقع بطيء") is a remark
            if not first.startswith("ال"):
                return True
        elif polish:
            if _PL_IMPERATIVE.search(first):
                return True
        elif turkish:
            if _TR_IMPERATIVE.fullmatch(words[-1]):
                return True
        elif len(words) >= 2 and words[1] not in _COPULAS:
            return True
    return False


# Openings of a statement that is not an instruction yet: a complaint ("Way too verbose"), a question.
_COMPLAINT_OPENERS = frozenset(
    ["too", "way", "so", "very", "much", "more", "less", "not", "no", "can", "could", "would", "i'd"]
)
_ZH_NOT_IMPERATIVE = re.compile(r"^(?:有点|有些|这|我|你|请问|能不能|可不可以)|太")


def reads_as_imperative(text: str) -> bool:
    """One sentence that is a plain instruction ("Add a concrete example.", "Please end with next steps.",
    "请说明局限性和风险。"), not a complaint ("Too casual, make it formal.", "太长了,一百字以内。"), a question
    or a remark followed by its request ("An example would help, add one."): the form a rule reads in."""
    body = _LEADING_PLEASE.sub("", text.strip()).strip().rstrip(".!。！")
    if not body or re.search(r"[.!?;。！？；]", body):
        return False
    if is_cjk(body):
        return _ZH_NOT_IMPERATIVE.search(body) is None and is_directive(text)
    words = _WORD.findall(body.lower())
    if any(re.fullmatch(r"\w+['’]s", w) and w not in ("let's", "let’s") for w in words[:2]):
        return False  # a possessive opens a statement about something: "Last week's answer was fine."
    return bool(words) and words[0] not in _NOT_IMPERATIVE and words[0] not in _COMPLAINT_OPENERS


# English chat spellings (`spell_out`), spelled out when the statement reads as English (an English function
# word: "u" is a pronoun in Dutch, "im" a preposition in German).
_SPELLED = {
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "dont": "don't",
    "doesnt": "doesn't",
    "cant": "can't",
    "im": "I'm",
    "i": "I",
}
_CHAT_SPELLING = re.compile(r"(?<![\w.'-])(?:" + "|".join(_SPELLED) + r")(?![\w'-]|\.\w)", re.I)  # not "U.S."
_ENGLISH = re.compile(r"\b(?:the|an|to|it|me|my|and|of|with|is|are|this|that|for|your?|what|how|pls|plz|dont)\b", re.I)


def reads_as_english(text: str) -> bool:
    """Whether the text has an English function word (and is not Chinese, Japanese or Korean)."""
    return not is_cjk(text) and _ENGLISH.search(text) is not None


def spell_out(text: str) -> str:
    """English typed as in a chat box, spelled out ("tell me ur sources pls" -> "tell me your sources please"),
    when the text reads as English: rule text reads so, and the promotion and injection patterns, written for
    words, see them."""
    if not reads_as_english(text):
        return text
    return _CHAT_SPELLING.sub(lambda m: _SPELLED[m.group().lower()], text)


@functools.lru_cache(maxsize=4096)  # the noise filter asks it of every rule at every refresh
def promotes(text: str) -> bool:
    """True when the text pushes a third party: a link, a contact, a product or brand to recommend."""
    spelled = spell_out(text)
    return _promotes(text) or (spelled != text and _promotes(spelled))


def _promotes(text: str) -> bool:
    if _URL.search(text) or _CONTACT.search(text) or _MARKS.search(text) or _BEST.search(text) or _CODE.search(text):
        return True
    own = _OWN.search(text) is not None
    if _PUSH.search(text):
        return own or any(p.search(text) for p in (_BRANDLIKE, _PROPER, _QUOTED, _BRAND_WORDS))
    if _PUSH_DE.search(text):
        return own or any(p.search(text) for p in (_BRANDLIKE, _QUOTED, _BRAND_WORDS))
    named = _BRANDLIKE.search(text) or (_BRAND_WORDS.search(text) and _QUOTED.search(text))  # 公众号“法律小助手”
    return bool(_MENTION.search(text) and (own or named))


# "No need", standing alone: it declines something, it does not refuse a part of the answer ("No need, I found
# it", "Pas besoin, j'ai trouvé", "Не нужно, я уже нашёл")
_BARE_NO_NEED = re.compile(
    r"^(?:no\s+need|not\s+(?:needed|necessary)|pas\s+besoin|inutile|aucun\s+besoin|no\s+hace\s+falta"
    r"|no\s+es\s+necesario|nicht\s+n[öo]tig|nicht\s+notwendig|unn[öo]tig|n[ãa]o\s+precisa|n[ãa]o\s+[ée]\s+preciso"
    r"|n[ãa]o\s+[ée]\s+necess[áa]rio|non\s+serve|non\s+c'[èe]\s+bisogno|(?:уже\s+)?не\s+нужно|не\s+надо)"
    r"(?:\s+(?:anymore|any\s+more|plus|más|mehr|più|mais|больше|уже))?\s*(?:[,.!;:]+|$)",
    re.I,
)


# Where one statement's requests part: a sentence's end (not a question's), or "and" / "also" / "plus"
# (after a comma in the other European languages: ", y", ", et", ", und"...), "并且", "还有", "另外"
_REQUEST_BREAK = re.compile(
    r"(?<=[.!;。！；])\s*|\s*,?\s+(?:and(?:\s+also)?|also|plus)\s+(?=[^\W\d_])|\s*,\s*(?:y|et|und|e|и)\s+(?=[^\W\d_])"
    r"|\s*[,，]\s*(?:并且|并|还有|另外|同时|而且|也)",
    re.I,
)


_CONJUNCTION = re.compile(r"^(?:and|also|plus)\s+(?=[^\W\d_])", re.I)  # "Also cite the article." -> "cite the article."


@functools.lru_cache(maxsize=4096)  # feedback repeats itself, and every refresh reads its logs' texts
def requests_in(text: str) -> tuple[str, ...]:
    """The requests of one statement, each on its own when it holds several: "Keep it under 100 words.
    Also cite the article." and "Shorter, and cite the law" ask for two things, and as one statement they
    joined one theme (the other request was lost). Split only when every part is a request of its own (of
    two words or more, or CJK): "Too long. Keep it short." (one request twice) parts into two statements
    that join one theme, where a log counts once; "Give the pros and cons", "Be clear and concise", "Thanks!
    Shorter please" stay whole. A negation that follows a request ("Use prose, don't use lists") stays
    with it: it is the request's contrast (`polarity`), and so does a question before a request ("Welche
    Risiken gibt es? Bitte erwähnen."): it says what the request is about."""
    text = normalise(text)
    parts = [_CONJUNCTION.sub("", p.strip(" ,，")) for p in _REQUEST_BREAK.split(text) if p and p.strip(" ,，")]
    if len(parts) < 2:
        return (text,)
    if any(not (is_cjk(p) or len(p.split()) >= 2) or is_chatter(p) or p.rstrip().endswith(("?", "？")) for p in parts):
        return (text,)
    statements = [statement_of(p) for p in parts]
    if not all(st.directive for st in statements):
        return (text,)
    if statements[0].sign > 0 and any(st.sign < 0 for st in statements[1:]):
        return (text,)
    return tuple(parts)


@functools.lru_cache(maxsize=4096)  # as requests_in: ~150 us of regular expressions per text otherwise
def statement_of(text: str) -> Statement:
    text = normalise(text)
    if (m := _BARE_NO_NEED.match(text)) is not None and not is_directive(text[m.end() :]):
        return Statement(text, text, 1, False, promotes(text))
    sign, core = polarity(_request_sentences(text))
    # "no lists rather prose": the replacement is the request, though the text opens with "no"
    directive = sign < 0 or is_directive(text) or (core != text and is_directive(core))
    return Statement(text, core, sign, directive, promotes(text))


def _request_sentences(text: str) -> str:
    """The text without its sentences of thanks or praise ("Keep it short. Thanks in advance!"), which ask for
    nothing and, embedded with the request, move its core away from the same request said plainly; and, when
    some of its sentences are plain instructions that stand alone, without the others: "I read your answers on
    my phone. Keep it under 100 words." asks for what "Keep it under 100 words." asks, and the situation
    embedded with it weighs as much as the request. An instruction that points back to the sentence before it
    ("An example would help. Add one.", "예시가 있으면 이해하기 쉬워요. 하나 들어 주세요.") keeps it."""
    parts = sentences(text)
    if len(parts) < 2:
        return text
    kept = [s for s in parts if not is_courtesy(s)]
    asks = [s for s in kept if reads_as_imperative(s) or _ASKS.match(s)]
    if asks and len(asks) < len(kept) and all(map(_stands_alone, asks)):
        kept = asks
    return " ".join(kept) if kept and len(kept) < len(parts) else text


# A sentence that asks in so many words ("Could you keep it short?", "I'd like a table.", "能不能短一点？"); not
# "I need this for a meeting." (a situation as often as a request)
_ASKS = re.compile(
    r"(?:please\s+)?(?:(?:could|can|would|will)\s+you|(?:could|can|may)\s+i\s+(?:get|have)|i'?d\s+like|i\s+would\s+like)\b"
    r"|请问?(?:能不能|能否|可不可以|可以)|能不能|能否|可不可以|麻烦你"
    r"|(?:pourriez|pouvez)-vous|(?:tu\s+pourrais|vous\s+pourriez|peux-tu|tu\s+peux)\b|(?:¿\s*)?(?:puedes|podr[ií]as)\b"
    r"|(?:kannst|k[öo]nntest)\s+du\b|(?:k[öo]nnen|k[öo]nnten)\s+sie\b|(?:puoi|potresti)\b|(?:voc[êe]\s+pode|poderia)\b"
    r"|(?:можешь|можете|не\s+могли\s+бы)\b",
    re.I,
)
# An instruction that needs the sentence before it: its object is a pronoun or "one" ("Cite it.", "Mention
# them.", "Say so.", "Add one."), or it is a bare verb ("Укажи.", "명시해 주세요", "明記してください").
_ANAPHOR_END = re.compile(
    r"\b(?:it|them|one|so|that|this|these|those|there|es|sie|das|dies|ihn)\W*$"  # "Cite it.", "Sag es."
    r"|-(?:le|la|les|lo|los|las|a|o|as|os|lhe|lui|li|ne)\W*$"  # "Cite-le.", "Cite-a.", "Mets-la en premier."
    r"|-(?:le|la|les|lo|a|o)\s"
    r"|一つ|一个|一個|하나|それ|これ|그것|이것|它|这个|那个",
    re.I,
)
# "please" in any of the languages read here: "Bitte erwähnen." is a bare verb
_ANY_PLEASE = re.compile(r"\b(?:please|pls|plz|kindly|" + _EU_PLEASE + r")\b", re.I)
_POLITE = re.compile(r"ください|下さい|お願いします|お願い|주세요|부탁합니다|부탁해요|请|一下|吧|[\s.!。！]")


def _stands_alone(sentence: str) -> bool:
    if _ANAPHOR_END.search(sentence):
        return False
    if is_cjk(sentence):
        return len(_POLITE.sub("", sentence)) > 5
    return len(_WORD.findall(_ANY_PLEASE.sub(" ", sentence))) > 1


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (a semicolon ends one too), stripped, none empty."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


_SENTENCE = re.compile(r"(?<=[.!?;。！？；])\s*")
