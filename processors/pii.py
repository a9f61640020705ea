"""PII redaction and user-id pseudonyms: applied to every log before it is stored, reaches an LLM
prompt, a rule or a published module.

Patterns plus validators, not a model: e-mail addresses; phone numbers, found as digit runs and
kept only if Google's libphonenumber (`phonenumbers`) says they are valid numbers (international
with ``+``, or national in China or the US), so dates and order numbers stay; payment card numbers
(Luhn-checked); Chinese resident ID numbers (checksum-checked); IBANs; IPv4 and IPv6 addresses;
URLs carrying credentials or tokens; secrets (``sk-...``, ``ghp_...``, AWS access keys, JWTs,
bearer tokens, the value of ``password=`` / ``api_key:`` and the like); names where the text says
what they are ("my name is", "Dear", "Mr.", "我叫", "姓名："), where a given name starts them
("Grace Kowalski"), or where a Chinese sentence puts a person ("李欣说", "律师王振宇"); street
addresses by their format. In other languages: names after a cue ("私の名前は", "제 이름은", "Меня
зовут", "je m'appelle"...), national phone numbers of 15 more countries when written in groups,
Spanish DNI/NIE and French NIR numbers (checksums), street addresses of eight countries.
Each match becomes a typed placeholder, so the text still reads naturally ("write to [EMAIL]").
Measured on a labelled set of English and Chinese snippets by ``python -m bench.pii``
(docs/benchmarks.md).

>>> redact("Mail jane.doe@example.com or call +1 (415) 555-0100, card 4111 1111 1111 1111.")
'Mail [EMAIL] or call [PHONE], card [CARD].'
>>> redact("key sk-abcdefghijklmnopqrstuv and 10.0.0.12")
'key [SECRET] and [IP]'
>>> redact("手机13812345678，会议 2024-03-15 10:30，订单 20240315")
'手机[PHONE]，会议 2024-03-15 10:30，订单 20240315'
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterator

import msgspec
import phonenumbers

from uno_models import Feedback, LogRecord

# re.A: ASCII word boundaries, so a value written against Chinese text ("请通过4111...联系") is found.
# Bounded runs that start where a run starts: linear time on hostile input (100,000 letters in a row).
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}")
_URL_SECRET = re.compile(r"https?://[^\s/]*:[^\s/@]*@\S+|https?://\S*[?&](?:token|key|secret|password|sig)=\S+", re.I)
_SECRET = re.compile(
    r"\b(?:sk|pk|rk|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{16,}\b|\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*", re.I | re.A
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b", re.A)
_CARD = re.compile(r"(?<!\+)\b(?:\d[ -]?){12,18}\d\b", re.A)
_IP = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", re.A)
# A digit run that could be a phone number; libphonenumber decides (`_phone`). No \b: CJK text has none.
_PSEUDONYM = re.compile(r"p-[0-9a-f]{20}")
_PHONE = re.compile(r"(?<![\d+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d(?:[ .-]?\d){5,14}(?!\d)")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_AWS_JWT = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}", re.A)
_ASSIGNED = re.compile(r"\b(pass(?:word|wd)?|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)[!-%'-+\--:<-~]+", re.I | re.A)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])", re.A)
# Names and street addresses: no maintained detector fits without a language model (Presidio needs
# spaCy's), so they are found where the text says what they are. A name follows a cue ("my name is",
# "Dear", "Mr.", "我叫", "姓名：") or is a common Chinese surname before 先生/女士/小姐; an address
# is a house number, words and a street type ("221B Baker Street"), or a Chinese road and number
# ("建国路88号", with the city and district before it and the unit after). A name without a cue
# ("Jane Smith wrote...") is found when its first word is a given name of Faker's name lists (`_given`)
# followed by a capitalised word that is not a common English word or a place noun ("Charles
# River"); a bare Chinese name where the sentence says a person stands (`cn_bare_name_spans`).
# docs/benchmarks.md measures each.
# Latin letters with their accents (Zoë, Wiśniewski, Nguyễn): Python's re has no \p{Lu} class.
_LATIN = [chr(c) for c in (*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00))]
_UP = "[" + "".join(c for c in _LATIN if c.isupper()) + "]"
_LOW = "[" + "".join(c for c in _LATIN if c.islower()) + "]"
_NAME_WORD = rf"{_UP}(?:{_LOW}+|'{_UP}{_LOW}+)(?:-{_UP}{_LOW}+)?"  # Jane, O'Neil, Smith-Jones, Zoë
_NOT_NAMES = (
    "Sir|Madam|Madame|Customer|Customers|Team|All|Everyone|Friend|Friends|Colleague|Colleagues|Support|"
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Today|Tomorrow|Later|Anytime|Back|Please|"
    "Hiring|Manager|User|Users|Reader|Readers|Client|Clients|Editor|Admin|Anonymous|Unknown|Mr|Mrs|Ms|Miss|Dr|Prof"
)
_EN_NAME = re.compile(
    r"(\b(?:(?i:my\s+name\s+is|my\s+name's|name\s*:|call\s+me|signed|regards,|sincerely,|dear)\s+"
    r"|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+))"
    rf"(?!(?:{_NOT_NAMES})\b)({_NAME_WORD}(?:\s+[A-Z]\.)?(?:\s+{_NAME_WORD}){{0,2}})\b"
)
_CN_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_CN_NAME = re.compile(
    rf"((?:我叫|我的名字是|我的名字叫|名字叫|本人|联系人|收件人|姓名|我是)[:：\s]*)([{_CN_SURNAMES}][\u4e00-\u9fff]{{1,2}})"
    rf"|([{_CN_SURNAMES}][\u4e00-\u9fff]?)(?=先生|女士|小姐)"
)
# A bare Chinese name: a surname and one or two characters where the sentence says a person stands:
# before a verb of saying or a title ("李欣说", "王振宇律师"), after a role ("律师王振宇"), or at a
# clause's start before "让", "跟"... ("张婷婷让我问"). The given name holds no character that is
# rarely one (particles, pronouns, numerals, the cues' own), and the surname is not the end of a
# common word ("主任", "双方", "对于"): measured on the replay texts' Chinese (docs/benchmarks.md).
_CN_COMPOUND = "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|端木|西门"
_CN_NOT_GIVEN = (
    "的了是在不有这那个们来到时为中你我他她它说和要也得里后以会可下而过去能对多然于都好看起发当没只如把还用第"
    "样道想作种开从无但现前些所同日又行动方期头经长回位分因很给名法间知什两次使身者被已其进此话常与正感就并或"
    "及等将向让跟问告诉表示认为称某一二三四五六七八九十百千万零几每各该本请吗呢吧啊呀嘛哦则遂曾系均"
    "元公司款项义务料序度质量党村事兼总姓摄涉嫌案件院局厅部门省市县区镇乡先女律面"
)
# Surnames that are far more often a preposition or a word's start here ("向公司", "于是", "双方")
_CN_BARE_SURNAMES = "".join(c for c in _CN_SURNAMES if c not in "向于方任付万余")
_CN_SAYS = "说|表示|认为|告诉|称|介绍|指出|坦言|回忆|透露|解释|强调|回应|答复|要求|同意|承认|否认|提出|希望"
_CN_TITLE_AFTER = "先生|女士|小姐|老师|律师|医生|教授|经理|法官|同学|主任|警官|总"
_CN_ROLES = (
    "律师|记者|主任|法官|教授|经理|院长|局长|医生|老师|同事|房东|房客|老板|客户|代理人|当事人|原告|被告|委托人|"
    "申请人|上诉人|家属|民警|丈夫|妻子|父亲|母亲|儿子|女儿|朋友|邻居|员工"
)
_CN_CLAUSE_LINKS = "让|跟|和|与|给|对|叫|找|也|还|已经|要|想|是|把|欠|借|打"
_CN_BEFORE_LINKS = "和|跟|与|给|找|问|告诉|替|帮|向|同"
_CN_WORDS_ENDING_IN_A_SURNAME = (
    "主任|担任|信任|责任|前任|现任|对于|由于|关于|至于|等于|属于|位于|处于|过于|终于|双方|一方|警方|对方|单方|各方|我方|他方|院方|校方|买方|卖方|甲方|乙方|"
    "官方|地方|多方|男方|女方|军方|检方|辩方|控方|资方|劳方|校长|曾经|未曾|不曾|何曾|如何|任何|为何|几何|缘何|奈何|提高|最高|很高|太高|更高|较高|升高|抬高|"
    "增高|每周|本周|上周|下周"
)
_CN_NOT_SURNAME_AFTER = frozenset(_CN_WORDS_ENDING_IN_A_SURNAME.split("|"))
_CN_GIVEN = rf"(?:(?![{_CN_NOT_GIVEN}])[\u4e00-\u9fff]){{1,2}}"
_CN_PERSON = rf"(?:{_CN_COMPOUND}|[{_CN_BARE_SURNAMES}]){_CN_GIVEN}"
# What follows a name that a role introduced ("律师王振宇表示", "记者王巍）"): not more of a word
_CN_AFTER_ROLE = (
    rf"(?:{_CN_SAYS}|{_CN_TITLE_AFTER}|{_CN_CLAUSE_LINKS}|在|因|被|等|与|则|曾|系|向|将|均|所|[^\u4e00-\u9fff]|$)"
)
# Tried only where a surname starts (a plain character class: the search runs in C), each
# alternative after a zero-width test of what precedes: ~50 us per 1,000 Chinese characters.
_CN_SURNAME_START = re.compile(rf"[{_CN_BARE_SURNAMES}{''.join(c[0] for c in _CN_COMPOUND.split('|'))}]")
_CN_BARE_NAME = re.compile(
    rf"({_CN_PERSON})(?={_CN_SAYS}|{_CN_TITLE_AFTER})"
    rf"|(?:{'|'.join(f'(?<={role})' for role in _CN_ROLES.split('|'))})({_CN_PERSON})(?={_CN_AFTER_ROLE})"
    rf"|(?:^|(?<=[^\u4e00-\u9fff])|(?<=昨天|今天|明天|前天|后来|刚才))({_CN_PERSON})(?={_CN_CLAUSE_LINKS})"
    rf"|(?:{'|'.join(f'(?<={link})' for link in _CN_BEFORE_LINKS.split('|'))})({_CN_PERSON})"
    r"(?=说|是|写|发|打|联系|见面|商量|签|借|欠|一起|的)"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_BARE_NAME = re.compile(rf"\b({_UP}{_LOW}+)(?=(\s+(?:{_UP}\.\s+)?)({_NAME_WORD})\b)")  # "Explain Isaac Newton"
_NEXT_NAME_WORD = re.compile(rf"\s+({_NAME_WORD})\b")
_NOT_SURNAMES = frozenset(
    (
        f"{_NOT_NAMES}|River|Lake|Bay|Sea|Ocean|Island|Islands|Park|Palace|Castle|Bridge|Hall|Tower|Gate|"
        "University|College|School|Academy|Institute|Hospital|Clinic|Church|Cathedral|Temple|Bank|Company|"
        "Corporation|Corp|Inc|Ltd|Group|Foundation|Museum|Library|County|City|State|States|Valley|Mountain|"
        "Mountains|Hills|Beach|Airport|Station|Center|Centre|Prize|Award|Cup|Act|Law|Code|Era|Day|Festival|"
        "Ontology|Project|Street|Court|Road|Avenue|Square|Garden|Gardens"
    ).split("|")
)
_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy|"
    "Square|Sq|Highway|Hwy|Crescent|Close|Row"
)
_EN_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:{_NAME_WORD}\s+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat|#)\.?\s*[A-Za-z0-9-]{1,6})?"
)
_PLACE_CHAR = r"(?:(?![在到于往住寄送址是的请为和与])[\u4e00-\u9fff])"  # not "住在", "寄到"...: the verb stays
_CN_ADDRESS = re.compile(
    rf"(?:{_PLACE_CHAR}{{2,7}}?(?:省|市|自治区|区|县|镇|乡))*{_PLACE_CHAR}{{1,10}}?(?:路|街|大道|大街|巷|弄|胡同)"
    r"\d{1,5}号(?:[\dA-Za-z-]{0,6}[\u4e00-\u9fff]?(?:室|楼|栋|幢|座|单元|层|号))*"
)
# Other languages. Names after a cue in Russian, Japanese and Korean ("Меня зовут", "私の名前は",
# "...と申します", "제 이름은"; a Japanese name before さん/様/氏 unless the word before is a role);
# Spanish DNI/NIE and French social-security numbers, checksum-checked; street addresses in the
# formats of Spain, France, Germany, Italy, Portugal, Russia, Japan and Korea. A role or a job after
# a cue is not a name ("저는 학생입니다", "Ich bin Student": "I am" is no cue).
_EU_NAME_CUES = (
    "me llamo|mi nombre es|je m'appelle|je m’appelle|mon nom est|ich heiße|ich heisse|mein name ist|mi chiamo"
    "|il mio nome è|meu nome é|me chamo|atentamente|un saludo|saludos|cordialement|mit freundlichen grüßen"
    "|viele grüße|cordiali saluti|distinti saluti|atenciosamente"
)
# a word of each cue, to test against the text's words before the pattern runs
_EU_CUE_WORDS = (
    "llamo nombre m'appelle m’appelle nom heiße heisse mein chiamo mio meu chamo atentamente saludo saludos "
    "cordialement grüßen grüße saluti atenciosamente"
)
# the text's words as split by spaces: "Atentamente," ends a closing
_EU_NAME_CUE_WORDS = frozenset(w + end for w in _EU_CUE_WORDS.split(" ") for end in ("", ","))
_EU_NAME_CUES_RE = _EU_NAME_CUES.replace(" ", r"\s+")
_EU_NAME = re.compile(
    rf"((?i:{_EU_NAME_CUES_RE}),?\s+)"
    rf"(?!(?:{_NOT_NAMES})\b)({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\b"
)
_RU_NAME = re.compile(r"((?i:меня\s+зовут|мо[её]\s+имя|с\s+уважением,?)\s+)([А-ЯЁ][а-яё]+(?:\s+[А-ЯЁ][а-яё]+){0,2})")
_JA_ROLES = (
    "店員|医者|運転手|看護師|先輩|後輩|社長|部長|課長|係長|大家|隣人|警察|弁護士|先生"
    "|担当者|担当|店長|彼女|彼氏|友達|家族|皆様|皆"
)
_JA_NAME = re.compile(
    r"((?:私の名前は|名前は|わたしの名前は))([\u4e00-\u9fff\u3040-\u30ff]{2,8}?)(?=です|と申します|といいます|と言います|。|$)"
    r"|()([\u4e00-\u9fff]{2,4}|[\u30a1-\u30fa]{2,8})(?=と申します|といいます|と言います)"
    rf"|()(?<![\u4e00-\u9fff])(?!(?:{_JA_ROLES}))([\u4e00-\u9fff]{{2,4}})(?=さん|様|氏)"
)
_KO_NAME = re.compile(
    r"((?:제|내)\s*이름은\s*)([가-힣]{2,4}?)(?=입니다|이에요|예요|이고|이라고|라고|\s|[.,]|$)"
    r"|(저는\s*)([가-힣]{2,4}?)(?=이라고|라고)"
)
_ES_ID = re.compile(r"(?<![0-9A-Za-z])[XYZxyz]?\d{7,8}[A-Za-z](?![0-9A-Za-z])")
_FR_NIR = re.compile(r"(?<!\d)[12]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}(?!\d)")
_EU_STREET_WORDS = (
    "calle|c/|avenida|avda|plaza|paseo|camino|carrer|ronda|via|viale|piazza|corso|vicolo|rua|travessa|largo|praça"
)
_FR_STREET_WORDS = "rue|avenue|boulevard|bd|place|allée|chemin|impasse|quai|route|cours"
_DE_STREET_ENDS = "straße|strasse|str.|platz|allee|gasse|chaussee|weg"
_DE_STREET_ENDS_RE = re.escape(_DE_STREET_ENDS).replace("\\|", "|")
# One pattern per format, each tried only where one of its words stands: a word of the text (a set
# of the words, for the street words that stand alone) or a substring (the German endings of a
# compound, the Russian abbreviations). A case-blind alternation as a test cost ~250 us on 1,500
# characters; the patterns themselves ~50 us.
_STREET_FORMATS = [
    (  # "Calle Mayor 12", "Via Roma 10", "Rua Augusta 100"
        frozenset(_EU_STREET_WORDS.split("|")),
        re.compile(
            rf"\b(?i:{_EU_STREET_WORDS})\.?\s+"
            rf"(?:(?i:de\s+la|del|de|della|di|da|do|dos|das)\s+)?{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}"
            r",?\s+(?:n\.?[ºo°]?\s*)?\d{1,4}[A-Za-z]?\b"
        ),
    ),
    (  # "12 rue de la Paix", "5 bis avenue Foch"
        frozenset(_FR_STREET_WORDS.split("|")),
        re.compile(
            rf"\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?i:{_FR_STREET_WORDS})\s+"
            rf"(?:(?i:de\s+la|de\s+l['’]|du|des|de|d['’])\s*)?{_NAME_WORD}(?:[\s-]+{_NAME_WORD}){{0,3}}"
        ),
    ),
    (  # "Hauptstraße 5", "Goethestr. 12a", "Lindenweg 3"
        tuple(_DE_STREET_ENDS.split("|")),
        re.compile(rf"\b{_UP}{_LOW}*(?i:{_DE_STREET_ENDS_RE})\s+\d{{1,4}}[a-z]?\b"),
    ),
    (  # "ул. Ленина, д. 10, кв. 5"
        ("ул.", "улица", "пр.", "проспект", "пер.", "переулок", "наб."),
        re.compile(
            r"(?:ул\.|улица|пр\.|проспект|пер\.|переулок|наб\.)\s*[А-ЯЁ][а-яё-]+(?:,?\s*(?:д\.|дом)\s*\d{1,4}[а-я]?)"
            r"(?:,?\s*(?:кв\.|квартира)\s*\d{1,4})?"
        ),
    ),
]
# "東京都新宿区西新宿2-8-1", "大阪市北区梅田3丁目1番1号"; "서울시 강남구 테헤란로 123"
_JA_ADDRESS = re.compile(
    r"(?:(?:東京都|北海道|京都府|大阪府|[\u4e00-\u9fff]{2,3}県)?[\u4e00-\u9fff]{1,5}?[市区町村郡])+"
    r"[\u4e00-\u9fff\u3040-\u30ff]{0,8}?\d{1,4}(?:(?:丁目|番地?|号|[-－‐])\d{1,4}){1,3}(?:号)?"
)
_KO_ADDRESS = re.compile(
    r"(?:[가-힣]{1,4}(?:시|도)\s*)?[가-힣]{1,4}(?:구|군)\s*[가-힣0-9]{1,10}(?:로|길)\s*\d{1,4}(?:-\d{1,4})?"
)


def _es_id(match: re.Match) -> str:
    raw = match.group().upper()
    number = raw[:-1].replace("X", "0").replace("Y", "1").replace("Z", "2")
    return "[ID]" if len(number) == 8 and "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23] == raw[-1] else match.group()


def _fr_nir(match: re.Match) -> str:
    digits = re.sub(r"\s", "", match.group()).upper()
    body = digits[:-2].replace("2A", "19").replace("2B", "18")
    return "[ID]" if 97 - int(body) % 97 == int(digits[-2:]) else match.group()


# Necessary conditions of the patterns above (see `redact`).
_SECRET_HINTS = ("sk-", "sk_", "pk-", "pk_", "rk-", "rk_", "ghp", "gho", "xox", "bearer")
_ASSIGNED_HINTS = ("pass", "pwd", "secret", "token", "api")
_IBAN_HINT = re.compile(r"[A-Z]{2}\d{2}", re.A)
_SIX_DIGITS = re.compile(r"\d(?:[ .-]?\d){5}")  # Unicode digits, as _PHONE and _CN_ID read them
_IP_HINT = re.compile(r"\d\.\d")
_STREET_HINTS = tuple(_STREET_TYPES.split("|"))
_EN_ADDRESS_HINT = re.compile(r"\d[A-Za-z]?\s+[A-Z]")
_CN_ADDRESS_HINT = re.compile(r"(?:路|街|道|巷|弄|同)\d{1,5}号")
_TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Prof")
_CN_NAME_CUES = ("我叫", "名字", "本人", "联系人", "收件人", "姓名", "我是", "先生", "女士", "小姐")
_IPV6_HINT = re.compile(r"::|:[0-9A-Fa-f]{1,4}:")
_DIGIT = re.compile(r"\d")
_KANA_OR_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7a3]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_OTHER_SCRIPTS = re.compile(r"[\u0400-\u04ff\u3040-\u30ff\uac00-\ud7a3]")
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


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


def _cn_id(match: re.Match) -> str:
    digits = match.group().upper()
    total = sum(int(d) * w for d, w in zip(digits[:17], _CN_ID_WEIGHTS, strict=True))
    return "[ID]" if "10X98765432"[total % 11] == digits[17] else match.group()


# National numbers of other countries are tried only when written in groups ("06 12 34 56 78",
# "0151 23456789", "090-1234-5678") and with an area code (9 digits or more): an order number in one
# run, or "2018-077" (a notice number), stays, though some plan would take it.
_MORE_REGIONS = ("GB", "FR", "DE", "ES", "IT", "PT", "NL", "JP", "KR", "IN", "BR", "RU", "AU", "CA", "MX")
_GROUPED = re.compile(r"\d[ -]\d")


def _phone(match: re.Match) -> str:
    raw = match.group()
    if _DATE.match(raw):  # 2024-03-15 10 parses as a valid Guangzhou landline
        return raw
    digits = re.sub(r"\D", "", raw)
    regions = ("CN", "US")
    if _GROUPED.search(raw) and len(digits) >= 9:  # grouped for people, with an area code: other plans too
        regions += _MORE_REGIONS
    for region in (None,) if raw.startswith("+") else regions:
        if region == "CN" and digits[0] not in "01":  # a landline needs its 0 and area code, else any 8 digits pass
            continue
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(raw, region)):
                return "[PHONE]"
        except phonenumbers.NumberParseException:
            continue
    return raw


def _ipv6(match: re.Match) -> str:
    try:
        ipaddress.IPv6Address(match.group())
    except ValueError:
        return match.group()
    return "[IP]"


def _may_name_someone(text: str) -> bool:
    """Whether `_EN_NAME` could match: one of its cues where the pattern wants it, looked at in each place
    its letters occur ("my name" or "name:", "call me", "signed " and "dear " at a word's start,
    "regards, ", "sincerely, ", a title at a word's start followed by a space or a full stop). Whether the
    letters occur at all fired on a third of the replay texts ("called", "named", "designed", "MSc"), and
    the pattern then scanned each (~110 us per 1,500 characters); a regex to tell them apart costs as much."""
    lowered = text.lower()
    for cue in ("name", "call", "signed", "regards,", "sincerely,", "dear"):
        for at in _occurrences(lowered, cue):
            after = lowered[at + len(cue) :]  # the rest: any run of spaces may stand between cue and name
            if cue == "name":
                fits = after.lstrip().startswith(":") or lowered[:at].rstrip().endswith("my")
            else:
                fits = after[:1].isspace() and (cue != "call" or after.lstrip().startswith("me"))
                fits = fits and (cue not in ("signed", "dear") or _word_starts(lowered, at))
            if fits:
                return True
    for title in _TITLES:
        for at in _occurrences(text, title):
            after = text[at + len(title) : at + len(title) + 2]
            if _word_starts(text, at) and (after[:1].isspace() or (after[:1] == "." and after[1:2].isspace())):
                return True
    return False


def _occurrences(text: str, part: str) -> Iterator[int]:
    at = text.find(part)
    while at >= 0:
        yield at
        at = text.find(part, at + 1)


def _word_starts(text: str, at: int) -> bool:
    """Whether a word starts at ``at`` (regex ``\\b`` before a letter)."""
    return at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")


@functools.lru_cache(maxsize=512)  # a batch's texts are redacted for embedding, then for storage
def redact(text: str) -> str:
    """The text with personal data and secrets replaced by placeholders.

    Each pattern runs only where a cheap test (a substring, a short regex) says it could match: most
    texts have no ``@``, no ``://`` and no run of six digits, and the full patterns cost ~0.4 ms on
    1,500 characters. A placeholder never makes a later test true where the pattern could match."""
    if "://" in text:
        text = _URL_SECRET.sub("[URL]", text)
    if "@" in text:
        text = _EMAIL.sub("[EMAIL]", text)
    lowered = text.lower()
    if any(hint in lowered for hint in _SECRET_HINTS):
        text = _SECRET.sub("[SECRET]", text)
    if "AKIA" in text or "ASIA" in text or "eyJ" in text:
        text = _AWS_JWT.sub("[SECRET]", text)
    if any(hint in lowered for hint in _ASSIGNED_HINTS):
        text = _ASSIGNED.sub(r"\1\2[SECRET]", text)
    # The tests of numbers (an IBAN, six digits, an IP, a house number) and the street formats need a digit:
    # none runs on a text without one (a fifth of the replay texts), each starts at the first (on average
    # 40% into a text). Found again after a pattern replaced something.
    digit = _DIGIT.search(text)
    if digit and _IBAN_HINT.search(text, max(0, digit.start() - 2)):
        text = _IBAN.sub("[IBAN]", text)
        digit = _DIGIT.search(text)
    six_digits = digit is not None and _SIX_DIGITS.search(text, digit.start()) is not None  # an ID, a card, a phone
    if six_digits:
        text = _CN_ID.sub(_cn_id, text)
        text = _CARD.sub(_card, text)
        digit = _DIGIT.search(text)
    if digit and _IP_HINT.search(text, digit.start()):
        text = _IP.sub("[IP]", text)
        digit = _DIGIT.search(text)
    if _IPV6_HINT.search(text):
        text = _IPV6.sub(_ipv6, text)
        digit = _DIGIT.search(text)
    if six_digits:
        text = _ES_ID.sub(_es_id, text)
        text = _FR_NIR.sub(_fr_nir, text)
        text = _PHONE.sub(_phone, text)
        digit = _DIGIT.search(text)
    if digit and _EN_ADDRESS_HINT.search(text, digit.start()) and any(s in text for s in _STREET_HINTS):  # rarer first
        text = _EN_ADDRESS.sub("[ADDRESS]", text)
        digit = _DIGIT.search(text)
    chinese = not text.isascii()  # the Chinese patterns need a Chinese character
    if chinese and "号" in text and _CN_ADDRESS_HINT.search(text):
        text = _CN_ADDRESS.sub("[ADDRESS]", text)
        digit = _DIGIT.search(text)
    words = frozenset(lowered.split())
    if digit:
        for hints, pattern in _STREET_FORMATS:
            if not words.isdisjoint(hints) if isinstance(hints, frozenset) else any(h in lowered for h in hints):
                text = pattern.sub("[ADDRESS]", text)
    other_script = chinese and _OTHER_SCRIPTS.search(text) is not None  # one scan for the three below
    if other_script and _KANA_OR_HANGUL.search(text):
        text = _JA_ADDRESS.sub("[ADDRESS]", text)
        text = _KO_ADDRESS.sub("[ADDRESS]", text)
        text = _JA_NAME.sub(_cued_name, text)
        text = _KO_NAME.sub(_cued_name, text)
    if not words.isdisjoint(_EU_NAME_CUE_WORDS):
        text = _EU_NAME.sub(r"\1[NAME]", text)
    if other_script and _CYRILLIC.search(text):
        text = _RU_NAME.sub(r"\1[NAME]", text)
    if _may_name_someone(text):
        text = _EN_NAME.sub(r"\1[NAME]", text)
    if chinese and any(cue in text for cue in _CN_NAME_CUES):
        text = _CN_NAME.sub(_cn_name, text)
    if chinese and _HAN.search(text):
        text = _replace(text, cn_bare_name_spans(text))
    return _replace(text, bare_name_spans(text))


# Faker's locales whose given-name lists are in Latin script: a name of one of these 13 counts (checked
# on the replay texts, 2026-11-30)...
_NAME_LOCALES = "en_US en_GB en_IN de_DE fr_FR es_ES it_IT pt_BR pl_PL nl_NL sv_SE cs_CZ tr_TR"
# ... a name of these (the others in Latin script, less "en", a raw list of US baby names with "York",
# "Marvel", "Captain"; and the romanised lists of three more) only when two of them list it.
_MORE_NAME_LOCALES = (
    "az_AZ da_DK de_AT de_CH de_LI de_LU en_IE en_KE en_NG en_NZ en_PK en_TH es_AR es_CA es_CL es_CO es_MX "
    "et_EE fi_FI fr_BE fr_CA fr_CH fr_DZ fr_QC ga_IE ha_NG hr_HR hu_HU id_ID ig_NG is_IS lt_LT lv_LV nl_BE "
    "no_NO pt_PT ro_RO sk_SK sl_SI sw tw_GH uz_UZ vi_VN yo_NG zu_ZA ja_JP zh_CN zh_TW"
)


def _first_names(locale: str) -> set[str]:
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    names: set[str] = set()
    for attr in dir(provider):
        value = getattr(provider, attr)
        if attr.startswith(("first_names", "first_romanized_names")) and isinstance(value, (list, tuple, dict)):
            names.update(n for n in value if isinstance(n, str))
    return names


@functools.cache
def _given() -> tuple[frozenset[str], frozenset[str]]:
    """Given names of Faker's person lists (census and registry lists of 61 locales; ~7,000 names),
    less those that are common English words ("Bill", "Summer", "Guy"), and those words (Faker's English
    word list) in lower case."""
    from faker.providers.lorem.en_US import Provider as English

    words = frozenset(w.lower() for w in English.word_list)
    names = set().union(*map(_first_names, _NAME_LOCALES.split(" ")))
    listed = Counter(n for locale in _MORE_NAME_LOCALES.split(" ") for n in _first_names(locale))
    names |= {n for n, lists in listed.items() if lists >= 2}
    latin = re.compile(f"{_UP}{_LOW}+")
    return frozenset(n for n in names if latin.fullmatch(n) and n.lower() not in words), words


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    out, end = [], 0
    for start, stop in spans:
        out += [text[end:start], "[NAME]"]
        end = stop
    return "".join([*out, text[end:]])


def bare_name_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` names someone with no cue: a given name and a surname. Each capitalised word is
    tried as a given name (a lookahead reads the next word without taking it, so "Explain Isaac Newton"
    tries "Explain Isaac", then "Isaac Newton"); a middle name extends the span ("Mary Ann Smith")."""
    given, words = _given()
    spans: list[tuple[int, int]] = []
    for match in _BARE_NAME.finditer(text):
        first, gap, last = match.groups()
        if spans and match.start() < spans[-1][1]:
            continue
        if first not in given or last in _NOT_SURNAMES or last.lower() in words:
            continue
        end = match.end() + len(gap) + len(last)
        while last in given and (more := _NEXT_NAME_WORD.match(text, end)):
            last = more.group(1)
            if last in _NOT_SURNAMES or last.lower() in words:
                break
            end = more.end()
        spans.append((match.start(), end))
    return spans


def cn_bare_name_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` names someone in Chinese with no cue of `_CN_NAME`: "李欣说", "律师王振宇",
    "张婷婷让我问". A candidate whose surname ends a common word ("主任潘杰": 任 of 主任) is passed over
    and the next surname is tried, so "潘杰" is still found."""
    spans: list[tuple[int, int]] = []
    for surname in _CN_SURNAME_START.finditer(text):
        start = surname.start()
        if (spans and start < spans[-1][1]) or text[start - 1 : start + 1] in _CN_NOT_SURNAME_AFTER:
            continue
        if match := _CN_BARE_NAME.match(text, start):
            spans.append(match.span(next(g for g in range(1, 5) if match.group(g) is not None)))
    return spans


def _cn_name(match: re.Match) -> str:
    return f"{match.group(1)}[NAME]" if match.group(1) is not None else "[NAME]"


def _cued_name(match: re.Match) -> str:
    """(cue, name) pairs of groups, one pair matched: the cue stays."""
    groups = match.groups()
    cue = next(groups[i] for i in range(0, len(groups), 2) if groups[i + 1] is not None)
    return f"{cue}[NAME]"


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
        if user_id is None or _PSEUDONYM.fullmatch(user_id):  # already one (a dead letter, replayed)
            return user_id
        digest = hmac.new(self._key, f"{namespace}\0{user_id}".encode(), hashlib.sha256).hexdigest()
        return f"p-{digest[:20]}"

    def scrub(self, raw: bytes, namespace: str) -> bytes:
        """A rejected record as the dead-letter topic keeps it: every string redacted, user ids
        pseudonymised (a replay keeps them: pseudonyms pass through), JSON kept JSON where it was."""
        try:
            event = json.loads(raw)
        except (ValueError, RecursionError):
            return redact(raw.decode("utf-8", errors="replace")).encode()
        if isinstance(event, dict) and isinstance(event.get("namespace"), str):
            namespace = event["namespace"]

        def walk(value, field=""):
            if isinstance(value, dict):
                return {k: walk(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, str):
                return self(namespace, value) if field == "user_id" else redact(value)
            return value

        try:
            return json.dumps(walk(event), ensure_ascii=False).encode()
        except (RecursionError, UnicodeEncodeError):  # a nesting bomb, lone surrogates: as text
            return redact(raw.decode("utf-8", errors="replace")).encode()

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
