"""How feedback is read in languages the simulator does not write: requests, negated requests and chatter.

    python -m bench.statements

`processors.evidence.statement_of` decides, with no LLM, whether a piece of feedback is a request
about the answer (``directive``) and whether it asks for its core or against it (``sign``). A
remark read as a request can become a rule if enough users make it; a negated request read as
asking for its core ("Gebruik geen tabellen" as support for tables) counts *for* the rule it
opposes. The simulator writes English and Chinese only, so `bench.rules` cannot see either mistake
in other languages.

Labelled, **hand-written** phrasings of the languages of the default embedder (USE-m3) that had no
rules of their own before 2026-12-01 (third session): Dutch, Polish, Turkish, Arabic, Thai, and
Chinese in traditional characters. Two sets: ``dev``, the phrasings the rules were written against
(also the unit tests' phrasings), and ``held_out``, written before any of those rules and scored
once after them. A phrasing is read right when a request is directive with sign +1, a negated
request has sign -1, and chatter or a remark is not directive. The baseline in the same run is the
reading before those rules (``--baseline REV`` reads ``processors/evidence.py`` at a git revision;
by default the commit that added this benchmark). Prints JSON; results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from bench.common import emit

# kind: "request" (directive, +1), "negated" (-1), "chatter" (not directive)
HELD_OUT: dict[str, dict[str, list[str]]] = {
    "nl": {
        "request": [
            "Zet de conclusie bovenaan.",
            "Kun je het korter maken?",
            "Graag wat meer voorbeelden.",
            "Schrijf in eenvoudige taal.",
            "Noem ook de risico's.",
            "Antwoord in maximaal drie zinnen.",
        ],
        "negated": [
            "Gebruik geen tabellen.",
            "Voeg geen disclaimers toe.",
            "Schrijf niet in opsommingen.",
            "Vermijd vakjargon.",
            "Geen emoji's alsjeblieft.",
            "Herhaal mijn vraag niet.",
        ],
        "chatter": [
            "Dank je wel!",
            "Top, bedankt",
            "Haha leuk",
            "De app crasht steeds.",
            "Ik heb vandaag geen tijd.",
            "Het weer is mooi vandaag.",
        ],
    },
    "pl": {
        "request": [
            "Zacznij od wniosku.",
            "Pisz krócej, proszę.",
            "Dodaj przykład z praktyki.",
            "Wyjaśnij trudne terminy.",
            "Podaj źródła.",
            "Odpowiadaj po polsku.",
        ],
        "negated": [
            "Nie używaj tabel.",
            "Nie dodawaj wstępu.",
            "Unikaj żargonu.",
            "Bez punktorów, proszę.",
            "Przestań powtarzać pytanie.",
            "Nigdy nie zgaduj dat.",
        ],
        "chatter": [
            "Dziękuję!",
            "Dzięki, super",
            "Strona się długo ładuje.",
            "Jestem zmęczony.",
            "Haha, dobre",
            "To jest ciekawe.",
        ],
    },
    "tr": {
        "request": [
            "Önce sonucu yaz.",
            "Lütfen daha kısa yaz.",
            "Bir örnek ekle.",
            "Kaynakları belirtin.",
            "Teknik terimleri açıkla.",
            "Madde madde listele.",
        ],
        "negated": [
            "Tablo kullanma.",
            "Giriş paragrafı yazma.",
            "Lütfen emoji kullanmayın.",
            "Soruyu tekrar etme.",
            "Jargondan kaçın.",
            "Tahminde bulunma.",
        ],
        "chatter": [
            "Teşekkürler!",
            "Çok sağ ol",
            "Harika, eline sağlık",
            "Site bugün çok yavaş.",
            "Hahaha",
            "Bugün hava güzel.",
        ],
    },
    "ar": {
        "request": [
            "ابدأ بالخلاصة.",
            "من فضلك اختصر الإجابة.",
            "أضف مثالاً عملياً.",
            "اشرح المصطلحات الصعبة.",
            "اذكر المصادر.",
            "أريد إجابة أقصر.",
        ],
        "negated": [
            "لا تستخدم الجداول.",
            "لا تكرر السؤال.",
            "تجنب المصطلحات التقنية.",
            "بدون مقدمة من فضلك.",
            "لا تضع رموزاً تعبيرية.",
            "توقف عن استخدام القوائم.",
        ],
        "chatter": [
            "شكراً لك",
            "ممتاز، شكراً جزيلاً",
            "الموقع بطيء جداً اليوم.",
            "هههههه",
            "مرحبا",
            "الطقس جميل اليوم.",
        ],
    },
    "th": {
        "request": [
            "ขอคำตอบสั้นๆ",
            "กรุณาใส่ตัวอย่าง",
            "ช่วยอธิบายศัพท์เทคนิคด้วย",
            "สรุปก่อนแล้วค่อยอธิบาย",
            "ควรอ้างอิงแหล่งที่มา",
            "เขียนให้เป็นข้อๆ",
        ],
        "negated": [
            "อย่าใช้ตาราง",
            "ไม่ต้องใส่คำนำ",
            "ห้ามเดาข้อมูล",
            "เลิกใช้ศัพท์ยาก",
            "หลีกเลี่ยงศัพท์เฉพาะ",
            "อย่าทวนคำถาม",
        ],
        "chatter": [
            "ขอบคุณครับ",
            "555555",
            "เยี่ยมมาก",
            "เว็บโหลดช้าจัง",
            "สวัสดีค่ะ",
            "วันนี้อากาศดี",
        ],
    },
    "zh-Hant": {
        "request": [
            "請先給出結論。",
            "簡短一點。",
            "請用條列式整理。",
            "請附上法條依據。",
            "解釋一下專業術語。",
            "回答控制在三句話以內。",
        ],
        "negated": [
            "請不要用表格。",
            "別重複我的問題。",
            "不要加免責聲明。",
            "請勿使用表情符號。",
            "避免使用術語。",
            "不需要開場白。",
        ],
        "chatter": [
            "謝謝！",
            "哈哈哈",
            "網站好慢。",
            "讚讚",
            "今天天氣不錯。",
            "辛苦了",
        ],
    },
}

DEV: dict[str, dict[str, list[str]]] = {
    "nl": {
        "request": [
            "Begin met het antwoord.",
            "Maak het korter alsjeblieft.",
            "Voeg een voorbeeld toe.",
            "Leg de vaktermen uit.",
            "Geef de bronnen.",
            "Schrijf het in het Nederlands.",
        ],
        "negated": [
            "Gebruik geen opsommingstekens.",
            "Schrijf niet zo formeel.",
            "Geef nooit een samenvatting aan het eind.",
            "Vermijd lange zinnen.",
            "Geen tabellen, alsjeblieft.",
            "Herhaal de vraag niet.",
        ],
        "chatter": [
            "Bedankt!",
            "Dankjewel, heel goed",
            "Leuk, top",
            "De website is traag.",
            "Ik snap het niet.",
            "Mijn internet is traag.",
        ],
    },
    "pl": {
        "request": [
            "Najpierw podaj odpowiedź.",
            "Napisz to prościej.",
            "Dodaj przykład.",
            "Wyjaśnij pojęcia.",
            "Proszę o krótszą odpowiedź.",
            "Cytuj przepisy.",
        ],
        "negated": [
            "Nie używaj list.",
            "Nie pisz wstępu.",
            "Unikaj długich zdań.",
            "Bez tabel.",
            "Przestań używać emotikon.",
            "Nigdy nie powtarzaj pytania.",
        ],
        "chatter": [
            "Dzięki!",
            "Dziękuję bardzo",
            "Super, dobra robota",
            "Strona działa wolno.",
            "Nie rozumiem.",
            "Mam dzisiaj dużo pracy.",
        ],
    },
    "tr": {
        "request": [
            "Önce cevabı ver.",
            "Daha kısa yaz lütfen.",
            "Örnek ver.",
            "Terimleri açıklayın.",
            "Kaynak göster.",
            "Sonucu başta söyle.",
        ],
        "negated": [
            "Madde işareti kullanma.",
            "Lütfen tablo kullanmayın.",
            "Uzun yazma.",
            "Soruyu tekrarlama.",
            "Jargon kullanmaktan kaçın.",
            "Emoji koyma.",
        ],
        "chatter": [
            "Teşekkür ederim",
            "Sağ ol",
            "Çok güzel, teşekkürler",
            "Site çok yavaş",
            "Haha",
            "Bu cevap iyi.",
        ],
    },
    "ar": {
        "request": [
            "أعطني الإجابة أولاً.",
            "اكتب باختصار.",
            "من فضلك أضف مثالاً.",
            "اشرح المصطلحات.",
            "يجب ذكر المصادر.",
            "استخدم لغة بسيطة.",
        ],
        "negated": [
            "لا تستخدم القوائم.",
            "لا تكتب مقدمة طويلة.",
            "تجنب الجداول.",
            "بدون رموز تعبيرية.",
            "توقف عن تكرار السؤال.",
            "لا داعي للمقدمة.",
        ],
        "chatter": [
            "شكرا جزيلا",
            "شكرا",
            "رائع",
            "الموقع بطيء اليوم",
            "ههههه",
            "السلام عليكم",
        ],
    },
    "th": {
        "request": [
            "ให้คำตอบก่อน",
            "กรุณาเขียนให้สั้นลง",
            "ช่วยยกตัวอย่างด้วย",
            "อธิบายศัพท์ให้เข้าใจง่าย",
            "ขอแหล่งอ้างอิง",
            "ควรสรุปตอนท้าย",
        ],
        "negated": [
            "อย่าใช้รายการ",
            "ไม่ต้องทวนคำถาม",
            "ห้ามใช้อีโมจิ",
            "เลิกเขียนยาว",
            "หลีกเลี่ยงตาราง",
            "อย่าเดา",
        ],
        "chatter": [
            "ขอบคุณมาก",
            "5555",
            "ดีมากครับ",
            "เว็บช้ามาก",
            "สวัสดีครับ",
            "ง่วงนอน",
        ],
    },
    "zh-Hant": {
        "request": [
            "請直接回答。",
            "寫短一點。",
            "請舉個例子。",
            "說明一下風險。",
            "請列出法條。",
            "用簡單的話解釋。",
        ],
        "negated": [
            "請不要分點。",
            "別用表格。",
            "不要寫太長的開頭。",
            "請勿加表情符號。",
            "避免重複問題。",
            "無需寒暄。",
        ],
        "chatter": [
            "謝謝你",
            "哈哈",
            "網頁很慢",
            "讚",
            "辛苦你了",
            "好的",
        ],
    },
}

# Written after the rules above, without running them on it; scored once.
HELD_OUT_2: dict[str, dict[str, list[str]]] = {
    "nl": {
        "request": [
            "Kan het wat beknopter?",
            "Zet er een voorbeeld bij.",
            "Eerst de kern, dan de details.",
            "Antwoord gewoon in het Engels.",
        ],
        "negated": [
            "Niet zoveel tekst graag.",
            "Doe geen aannames.",
            "Zonder inleiding graag.",
            "Begin niet met een herhaling van de vraag.",
        ],
        "chatter": ["Super bedankt!", "Wat een goed antwoord.", "Mijn collega vond het ook handig.", "Werkt prima nu."],
    },
    "pl": {
        "request": [
            "Skróć to do trzech punktów.",
            "Więcej konkretów, mniej ogólników.",
            "Odpowiedz najpierw jednym zdaniem.",
            "Proszę dodać podstawę prawną.",
        ],
        "negated": [
            "Nie wymyślaj przepisów.",
            "Bez lania wody.",
            "Nie zaczynaj od powtórzenia pytania.",
            "Proszę nie używać emoji.",
        ],
        "chatter": ["Dzięki wielkie", "Fajna odpowiedź", "Aplikacja się zawiesza.", "Wszystko jasne."],
    },
    "tr": {
        "request": [
            "Cevabı üç maddeyle sınırla.",
            "Sonuçla başla lütfen.",
            "Daha resmi bir dil kullan.",
            "Yasal dayanağı da belirtiniz.",
        ],
        "negated": [
            "Soruyu baştan yazma.",
            "Uydurma bilgi verme.",
            "Lütfen giriş cümlesi eklemeyin.",
            "Emoji kullanmaktan kaçının.",
        ],
        "chatter": ["Eyvallah", "Güzel olmuş", "Uygulama sürekli donuyor.", "Anladım, teşekkürler."],
    },
    "ar": {
        "request": [
            "ضع الخلاصة في البداية.",
            "قدّم مثالاً واحداً على الأقل.",
            "اجعل الإجابة أقصر.",
            "لو سمحت اذكر رقم المادة.",
        ],
        "negated": ["لا تبدأ بإعادة السؤال.", "لا تخترع معلومات.", "بلا مقدمات طويلة.", "تجنّب الحشو."],
        "chatter": ["جزاك الله خيراً", "إجابة رائعة", "التطبيق يتوقف كثيراً.", "فهمت، شكراً."],
    },
    "th": {
        "request": ["ตอบสั้นกว่านี้หน่อย", "ขอสรุปเป็นข้อๆ", "ใส่ข้อกฎหมายที่เกี่ยวข้องด้วย", "เริ่มจากข้อสรุป"],
        "negated": [
            "อย่าแต่งข้อมูลขึ้นมาเอง",
            "ไม่ต้องขึ้นต้นด้วยการทวนคำถาม",
            "ห้ามใส่อีโมจิ",
            "ไม่ควรใช้ภาษาทางการเกินไป",
        ],
        "chatter": ["ขอบใจนะ", "เจ๋งมาก", "แอปค้างบ่อย", "เข้าใจแล้วครับ"],
    },
    "zh-Hant": {
        "request": ["結論放在最前面。", "多舉幾個實際例子。", "字數再少一點。", "麻煩附上出處。"],
        "negated": ["別再重複問題了。", "不用寫開場白。", "請勿捏造法條。", "不要長篇大論。"],
        "chatter": ["感謝！", "太厲害了", "App 一直閃退。", "懂了，謝啦"],
    },
}

# Typed as people type (2026-12-02, third session): typographic apostrophes ("Don’t", as phones and word
# processors write it) and requests to take something out ("Remove the headings", "去掉小标题"), which embed
# as close to "Add section headings" as its paraphrases do. TYPED is what the rules were written against
# (the unit tests' phrasings); TYPED_HELD_OUT was written after them and scored once, by the same hand.
TYPED: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": ["Cut to the chase.", "Skip straight to the answer.", "Put the verdict first, please."],
        "negated": [
            "Don’t use a numbered list.",
            "Please don’t add a summary.",
            "You shouldn’t repeat the question.",
            "Remove the headings.",
            "Omit the disclaimer.",
            "Get rid of the bullet points.",
            "Leave out the legal jargon.",
            "Can you remove the headings?",
            "I don't want headings.",
            "Without bullet points please.",
        ],
        "chatter": ["Thanks, that’s great!", "It’s fine", "The site’s slow today."],
    },
    "zh": {
        "request": ["请加上小标题。"],
        "negated": ["去掉小标题。", "请删除结尾的总结。", "把小标题去掉。"],
        "chatter": ["好的，谢谢"],
    },
    "fr": {
        "request": ["Commence par la conclusion."],
        "negated": ["N’utilisez pas de listes.", "Ne pas mettre de titres.", "Supprimez les titres."],
        "chatter": ["Merci beaucoup"],
    },
    "es": {"request": ["Empieza por la conclusión."], "negated": ["Quita las viñetas."], "chatter": ["Gracias"]},
    "de": {"request": ["Beginne mit dem Fazit."], "negated": ["Entferne die Überschriften."], "chatter": ["Danke"]},
    "ja": {
        "request": ["見出しを付けてください"],
        "negated": ["見出しを削除してください", "前置きは省いて。"],
        "chatter": ["ありがとうございます"],
    },
    "ko": {
        "request": ["제목을 넣어 주세요"],
        "negated": ["제목을 빼 주세요", "표를 없애 주세요."],
        "chatter": ["답변이 빼어나요"],
    },
}
TYPED_HELD_OUT: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "Skip right to the point.",
            "Get to the point faster.",
            "Please add a short example.",
            "Don’t be so wordy.",  # a complaint about excess asks for less, as "too wordy" does
        ],
        "negated": [
            "Please remove all the emojis.",
            "Could you drop the intro paragraph?",
            "Don’t bother with a summary.",
            "Lose the bullet points, please.",
            "Cut out the small talk.",
            "Take out the disclaimers.",
            "Delete the closing paragraph.",
            "I’d rather you didn’t use tables.",
        ],
        "chatter": ["That’s perfect, thanks!", "Didn’t load for me.", "I’m on mobile, sorry."],
    },
    "zh": {
        "request": ["直接说重点。", "结尾加一句总结。"],
        "negated": ["把表格删掉吧。", "开场白可以省略。", "请去掉所有的表情符号。"],
        "chatter": ["收到，谢谢！"],
    },
    "fr": {"request": ["Ajoute un exemple."], "negated": ["Enlève le tableau.", "Retirez les émojis."], "chatter": []},
    "es": {
        "request": ["Añade un ejemplo."],
        "negated": ["Elimina el resumen final.", "No pongas títulos."],
        "chatter": [],
    },
    "de": {
        "request": ["Füge ein Beispiel hinzu."],
        "negated": ["Bitte lösche die Tabelle.", "Lass die Einleitung weg."],
        "chatter": [],
    },
    "it": {"request": ["Aggiungi un esempio."], "negated": ["Rimuovi i titoli.", "Togli il riassunto."], "chatter": []},
    "ru": {"request": ["Добавь пример."], "negated": ["Убери заголовки."], "chatter": []},
    "ja": {
        "request": ["結論を先に書いてください"],
        "negated": ["絵文字は要らないです", "まとめの段落を削って下さい", "箇条書きを取り除いてください"],
        "chatter": [],
    },
    "ko": {
        "request": ["예시를 하나 추가해 주세요"],
        "negated": ["이모지는 빼주세요", "결론 부분은 지워 주세요", "표는 필요 없어요"],
        "chatter": [],
    },
}

# Hedged and indirect refusals (2026-12-02, fourth session): "I'd rather you didn't use tables", "Please
# refrain from...", "There's no need for...", "X isn't necessary", "Can you not...", "Fewer X" read as requests
# *for* what they refuse. HEDGED is what the rules were written against; HEDGED_HELD_OUT was written before
# them, committed, and scored once after, by the same hand.
HEDGED: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "I’d rather you used plain words.",
            "I would prefer a shorter answer.",
            "Could you use a table?",
            "Can you add headings?",
            "There should be a summary.",
        ],
        "negated": [
            "I would rather you did not use tables.",
            "I’d prefer you didn’t use tables.",
            "I’d rather not have tables.",
            "Please refrain from using tables.",
            "There is no need for tables.",
            "Tables aren’t necessary.",
            "The summary is unnecessary.",
            "Tables are not needed.",
            "Hold off on the tables.",
            "Enough with the bullet points.",
            "Can you not use tables?",
            "Could you stop using tables?",
            "Less jargon please.",
            "Fewer bullet points.",
        ],
        "chatter": ["I’d rather not say.", "Not needed anymore, thanks."],
    },
}
HEDGED_HELD_OUT: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "I’d prefer a bulleted list.",
            "I would rather you started with the answer.",
            "Could you add a short summary?",
            "It needs more examples.",
            "Less is more: keep it short.",
            "No less than three examples, please.",
        ],
        "negated": [
            "I’d really prefer it if you didn’t include emojis.",
            "I'd rather you avoided the passive voice.",
            "Kindly refrain from repeating my question.",
            "There’s no need to restate the question.",
            "A disclaimer isn’t needed.",
            "The intro is not necessary.",
            "Footnotes are unnecessary.",
            "Could you not add a conclusion?",
            "Can you stop adding emojis?",
            "Fewer adjectives, please.",
            "Less repetition.",
            "Enough with the caveats.",
            "Please hold off on the legal jargon.",
            "We don’t need a summary at the end.",
            "I would prefer no headings.",
        ],
        "chatter": ["No need, I found it.", "I’d rather not share that.", "Not necessary anymore, thanks!"],
    },
    "fr": {
        "request": [],
        "negated": ["Pas besoin de résumé.", "Je préférerais que tu n’utilises pas de tableaux.", "Évite le jargon."],
        "chatter": [],
    },
    "es": {
        "request": [],
        "negated": ["No hace falta el resumen.", "Preferiría que no usaras tablas.", "Evita la jerga."],
        "chatter": [],
    },
    "de": {
        "request": [],
        "negated": [
            "Eine Zusammenfassung ist nicht nötig.",
            "Ich hätte lieber keine Tabellen.",
            "Vermeide Fachjargon.",
        ],
        "chatter": [],
    },
}


# Hedged refusals in French, Spanish, German, Portuguese, Italian and Russian (2026-12-02, fifth session).
# HEDGED_EU is what their patterns are written against; HEDGED_EU_HELD_OUT was written with it, before any
# pattern, committed, and is scored once after, by the same hand.
HEDGED_EU: dict[str, dict[str, list[str]]] = {
    "fr": {
        "request": ["Je préférerais une réponse courte.", "Tu pourrais ajouter un exemple ?"],
        "negated": [
            "Pas besoin de tableaux.",
            "Je préférerais que tu n'utilises pas de listes.",
            "Inutile de répéter la question.",
            "On n'a pas besoin d'un résumé.",
            "Arrête avec les émojis.",
            "Moins de jargon, s'il te plaît.",
            "Le résumé n'est pas nécessaire.",
            "Tu peux éviter les tableaux ?",
        ],
        "chatter": ["Pas besoin, j'ai trouvé."],
    },
    "es": {
        "request": ["Preferiría una respuesta corta.", "¿Podrías añadir un ejemplo?"],
        "negated": [
            "No hace falta repetir la pregunta.",
            "Preferiría que no pusieras emojis.",
            "Sobran las tablas.",
            "Menos jerga, por favor.",
            "No necesito un resumen.",
            "¿Puedes dejar de usar listas?",
            "El resumen no es necesario.",
            "Basta de advertencias.",
        ],
        "chatter": ["No hace falta, ya lo encontré."],
    },
    "de": {
        "request": ["Ich hätte gern eine kürzere Antwort.", "Könntest du ein Beispiel hinzufügen?"],
        "negated": [
            "Tabellen sind nicht nötig.",
            "Bitte verzichte auf Fachjargon.",
            "Weniger Fachjargon, bitte.",
            "Wir brauchen keine Zusammenfassung.",
            "Kannst du aufhören, Emojis zu benutzen?",
            "Die Einleitung ist überflüssig.",
            "Lass die Tabellen weg.",
        ],
        "chatter": ["Nicht nötig, ich habe es gefunden."],
    },
    "pt": {
        "request": ["Prefiro uma resposta curta.", "Poderia adicionar um exemplo?"],
        "negated": [
            "Não precisa de tabelas.",
            "Prefiro que você não use listas.",
            "Sem necessidade de resumo.",
            "Chega de emojis.",
            "Menos jargão, por favor.",
            "O resumo é desnecessário.",
            "Pode parar de usar tabelas?",
            "Dispenso a introdução.",
        ],
        "chatter": ["Não precisa, já achei."],
    },
    "it": {
        "request": ["Preferirei una risposta più breve.", "Potresti aggiungere un esempio?"],
        "negated": [
            "Non c'è bisogno di tabelle.",
            "Preferirei che non usassi elenchi.",
            "Meno gergo, per favore.",
            "Basta con le emoji.",
            "Il riassunto non serve.",
            "Puoi smettere di usare tabelle?",
            "Lascia perdere i titoli.",
        ],
        "chatter": ["Non serve, l'ho trovato."],
    },
    "ru": {
        "request": ["Я бы предпочёл короткий ответ.", "Можешь добавить пример?"],
        "negated": [
            "Таблицы не нужны.",
            "Не нужно повторять вопрос.",
            "Я бы предпочёл без таблиц.",
            "Хватит эмодзи.",
            "Поменьше жаргона, пожалуйста.",
            "Можешь не добавлять вывод?",
            "Обойдись без таблиц.",
        ],
        "chatter": ["Не нужно, я уже нашёл."],
    },
}
HEDGED_EU_HELD_OUT: dict[str, dict[str, list[str]]] = {
    "fr": {
        "request": ["J'aimerais bien un exemple concret."],
        "negated": [
            "J'aimerais mieux que tu ne mettes pas d'émojis.",
            "Aucun besoin de conclusion.",
            "Les titres sont superflus.",
            "Cesse de répéter la question.",
            "Laisse tomber les listes à puces.",
            "Moins de détails techniques.",
        ],
        "chatter": ["Inutile, c'est réglé."],
    },
    "es": {
        "request": ["Me gustaría un ejemplo."],
        "negated": [
            "No es necesario el resumen.",
            "Ahórrate la introducción.",
            "Nada de tablas, por favor.",
            "Menos tecnicismos.",
            "Sin emojis, gracias.",
            "Prescinde de los títulos.",
        ],
        "chatter": ["No hace falta, ya está."],
    },
    "de": {
        "request": ["Ich würde mir ein Beispiel wünschen."],
        "negated": [
            "Auf Tabellen kannst du verzichten.",
            "Die Zusammenfassung brauche ich nicht.",
            "Bitte keine Emojis mehr.",
            "Spar dir die Einleitung.",
            "Weniger Wiederholungen, bitte.",
            "Die Überschriften sind unnötig.",
        ],
        "chatter": ["Nicht nötig, hat sich erledigt."],
    },
    "pt": {
        "request": ["Preferia uma resposta mais curta."],
        "negated": [
            "Não é preciso repetir a pergunta.",
            "Dispense os emojis.",
            "Preferia sem tabelas.",
            "Pare com os avisos.",
            "A introdução é desnecessária.",
            "Menos detalhes técnicos.",
        ],
        "chatter": ["Não precisa, já resolvi."],
    },
    "it": {
        "request": ["Mi piacerebbe un esempio."],
        "negated": [
            "Non servono le tabelle.",
            "Evitiamo gli elenchi puntati.",
            "Fai a meno dell'introduzione.",
            "Smettila con le emoji.",
            "Meno ripetizioni.",
            "I titoli sono superflui.",
        ],
        "chatter": ["Non serve più, grazie."],
    },
    "ru": {
        "request": ["Хотелось бы пример."],
        "negated": [
            "Без таблиц, пожалуйста.",
            "Не надо эмодзи.",
            "Вывод не нужен.",
            "Давай без вступления.",
            "Меньше повторов.",
            "Заголовки лишние.",
        ],
        "chatter": ["Уже не нужно, спасибо."],
    },
}


# Praise and courtesy: what satisfied users write beside a thumbs up ("Spot on.", "先谢谢了！"). Read as a
# request, a remark many users make becomes a theme and can be published as a rule ("Good stuff."). A request
# with praise in front ("Perfect, but shorter next time") stays a request. COURTESY_HELD_OUT was written
# (2026-12-02, sixth session) before COURTESY and before any pattern for it, committed, and is scored once
# after, by the same hand.
COURTESY: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "Perfect, but shorter next time.",
            "Great, now add a table.",
            "Thanks, but please cite the law.",
            "Good answer, though it needs an example.",
            "Exactly right, just drop the disclaimer.",
        ],
        "chatter": [
            "Much appreciated.",
            "Appreciate it.",
            "Nice one.",
            "Works for me.",
            "Exactly what I needed.",
            "Spot on.",
            "Good stuff.",
            "Keep up the good work.",
            "Well done, thank you!",
            "Very helpful, thanks a lot.",
            "You're the best.",
            "That was super clear, thanks!",
            "Excellent answer.",
            "Thanks a million.",
        ],
    },
    "zh": {
        "request": ["太好了，不过请加上出处。", "谢谢，但是请再简短一些。"],
        "chatter": [
            "先谢谢了！",
            "太好了，正是我需要的。",
            "麻烦了。",
            "麻烦你了！",
            "非常感谢你的帮助。",
            "回答得很好。",
            "很有帮助，谢谢！",
            "厉害！",
            "学到了。",
        ],
    },
    "es": {
        "request": ["Perfecto, pero más corto."],
        "chatter": ["Justo lo que necesitaba.", "Muy buena respuesta, gracias.", "Te lo agradezco."],
    },
    "fr": {
        "request": ["Parfait, mais plus court."],
        "chatter": ["C'est exactement ce dont j'avais besoin.", "Merci pour ton aide !", "Très bonne réponse."],
    },
    "de": {
        "request": ["Perfekt, aber kürzer bitte."],
        "chatter": ["Genau das, was ich brauchte.", "Danke für die Hilfe!", "Sehr gute Antwort."],
    },
    "it": {
        "request": ["Perfetto, ma più breve."],
        "chatter": ["Esattamente quello che mi serviva.", "Grazie per l'aiuto!", "Ottima risposta."],
    },
    "pt": {
        "request": ["Perfeito, mas mais curto."],
        "chatter": ["Exatamente o que eu precisava.", "Obrigado pela ajuda!", "Ótima resposta."],
    },
    "ru": {
        "request": ["Отлично, но короче."],
        "chatter": ["Именно то, что нужно.", "Спасибо за помощь!", "Отличный ответ."],
    },
    "ja": {
        "request": ["ありがとう、でも表にしてください。"],
        "chatter": ["助かりました。", "完璧です。", "分かりやすかったです、ありがとうございます。"],
    },
    "ko": {
        "request": ["고마워요, 그런데 표로 정리해 주세요."],
        "chatter": ["도움이 됐어요.", "최고예요!", "정말 감사합니다."],
    },
}
COURTESY_HELD_OUT: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "Nice, but cut it in half.",
            "Great answer, just add the sources next time.",
            "Love it, though a table would be even better.",
            "Thanks! Could you make it a bit more formal?",
        ],
        "chatter": [
            "Top notch, thank you.",
            "Helpful as always.",
            "Really appreciate the help!",
            "Couldn't have asked for better.",
            "Nailed it.",
            "Legend, thanks.",
            "Very useful, ta.",
            "Bang on, cheers mate.",
            "Thank you kindly.",
            "Solid answer.",
        ],
    },
    "zh": {
        "request": ["不错，不过下次请再短一点。", "很好，再加一个例子就更好了。"],
        "chatter": [
            "非常有用，感谢！",
            "讲得很清楚，谢啦。",
            "完美。",
            "太棒了，帮大忙了。",
            "解答得很到位。",
            "有劳了！",
            "受教了。",
        ],
    },
    "es": {
        "request": ["Genial, pero hazlo más corto."],
        "chatter": ["¡Mil gracias!", "Justo lo que buscaba.", "Muy útil, gracias.", "¡Crack!"],
    },
    "fr": {
        "request": ["Super, mais ajoute des sources."],
        "chatter": ["Nickel, merci !", "Exactement ce qu'il me fallait.", "Très utile, merci bien.", "Au top !"],
    },
    "de": {
        "request": ["Super, aber bitte kürzer."],
        "chatter": ["Passt, danke!", "Genau das habe ich gesucht.", "Sehr hilfreich, danke.", "Spitze!"],
    },
    "it": {
        "request": ["Ottimo, ma aggiungi un esempio."],
        "chatter": ["Grazie infinite!", "Proprio quello che cercavo.", "Utilissimo, grazie."],
    },
    "pt": {
        "request": ["Ótimo, mas deixa mais curto."],
        "chatter": ["Valeu demais!", "Era bem isso que eu procurava.", "Muito útil, obrigado."],
    },
    "ru": {
        "request": ["Отлично, но сделай короче."],
        "chatter": ["Огромное спасибо!", "То, что я искал.", "Очень полезно, благодарю."],
    },
    "ja": {
        "request": ["いいですね、でももう少し短くしてください。"],
        "chatter": ["とても参考になりました。", "完璧です、感謝します。", "さすがです！"],
    },
    "ko": {
        "request": ["좋아요, 하지만 더 짧게 써 주세요."],
        "chatter": ["정말 유용했어요, 감사합니다.", "딱 제가 찾던 거예요.", "완벽해요!"],
    },
}


# Typed as people type in a chat box (2026-12-02, seventh session): lower case, no full stop, "pls", "u",
# "dont", questions and wishes for what is missing. Both sets written before either was run; rules are
# tuned on ``casual``; ``casual_held_out`` is scored once after them.
CASUAL: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "shorter plz",
            "could u add an example",
            "too wordy",
            "wish u cited sources",
            "it'd be better with a table",
            "why so long",
            "answer first then explain",
            "more examples pls",
            "tl;dr pls",
            "simpler words pls",
            "needs headings",
            "make it formal",
        ],
        "negated": [
            "dont use bullet points",
            "no tables pls",
            "stop repeating urself",
            "no disclaimers",
            "pls dont guess",
            "dont start with a summary",
        ],
        "chatter": ["haha", "ty", "k", "gr8", "app is slow today", "my teacher said the same", "wow", "hmm"],
    },
    "zh": {
        "request": ["太啰嗦了", "能不能举个例子", "先说结论呗", "有出处吗", "简单点说"],
        "negated": ["别用表格", "别啰嗦", "不要列表了"],
        "chatter": ["嘿嘿", "多谢", "卡死了", "好的"],
    },
}

CASUAL_HELD_OUT: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "shorter pls",
            "can u make it shorter",
            "way too long tbh",
            "i wish it had examples",
            "would be nice to see the sources",
            "why no sources??",
            "needs a summary at the end",
            "more detail on step 2 plz",
            "put the answer first not at the end",
            "use bullet points next time",
            "gimme the short version",
            "tldr at the top pls",
            "explain it like im 5",
            "is there a shorter version",
        ],
        "negated": [
            "dont use tables",
            "no bullet points pls",
            "stop apologizing",
            "pls dont repeat my question back",
            "no emojis",
            "quit adding disclaimers",
            "never guess dates",
        ],
        "chatter": [
            "lol",
            "thx!!",
            "ok",
            "cool cool",
            "site keeps crashing",
            "my boss will love this",
            "nice one 👍",
            "first time using this",
            "brb",
        ],
    },
    "zh": {
        "request": ["太长了吧", "能不能短点", "说重点", "给个例子呗", "要是有出处就好了", "结论放前面", "来个总结"],
        "negated": ["别整表格", "不要废话", "别老道歉"],
        "chatter": ["哈哈", "谢啦", "网站好卡", "收到", "还行吧"],
    },
}

# Written after the reading was changed for ``casual`` (whose held-out misses had been seen), before any run
# of it: the clean held-out measure of that change.
CASUAL_HELD_OUT_2: dict[str, dict[str, list[str]]] = {
    "en": {
        "request": [
            "shorter next time pls",
            "can u add the source",
            "bit too long ngl",
            "i wish u had used a table",
            "would be nice with an example",
            "why so many bullet points",
            "needs a conclusion",
            "more concise plz",
            "give me the gist first",
            "explain the terms pls",
            "this is hard to follow",
            "a summary would help",
        ],
        "negated": [
            "dont add disclaimers",
            "no jargon pls",
            "stop using bullet points",
            "pls dont make it so long",
            "no intro needed",
        ],
        "chatter": ["omg", "ty so much", "kk", "internet is down again", "ill try later", "interesting", "yep"],
    },
    "zh": {
        "request": ["能再短点吗", "给点例子", "来个表格", "讲简单点", "把结论写在前面", "有参考资料吗", "详细点"],
        "negated": ["别用列表", "不要这么长", "别写废话"],
        "chatter": ["嗯嗯", "谢了", "好卡啊", "明白了", "厉害"],
    },
}


# Requests with no cue word (2026-12-03, eighth session): a Chinese clause that opens with its verb ("加一个例子",
# "告诉我接下来该怎么做"), a Japanese te-form ("結論を最初に書いて。"), a Russian request with no verb ("Нужен пример.",
# "Сразу к делу."), "first X, then Y" and "can you ...?" in the European languages. Some dev phrasings are the
# simulator's dev pool's; both sets were written before any rule for them, the held-out one apart.
PLAIN: dict[str, dict[str, list[str]]] = {
    "zh": {
        "request": [
            "加一个实际的例子。",
            "也要提到可能的风险。",
            "告诉我接下来该怎么做。",
            "列出所有相关条款。",
            "标出重点。",
            "附上法条原文。",
            "提一下例外情况。",
            "举个例子。",
            "补一段总结。",
            "配一张表格。",
            "强调一下风险。",
        ],
        "negated": ["别加例子。", "不要提到价格。"],
        "chatter": ["加油！", "写得真好。", "用不了了。", "网站加载好慢。", "分不清楚。"],
    },
    "ja": {
        "request": [
            "結論を最初に書いて。",
            "リスト形式でまとめて。",
            "もう少し短くして。",
            "例を挙げて。",
            "表にして。",
        ],
        "chatter": ["なるほどね。", "サイトが重い。"],
    },
    "ru": {
        "request": [
            "Нужен практический пример.",
            "Максимум сто слов.",
            "Сначала суть, потом подробности.",
            "Сразу к делу.",
            "Обращайся ко мне на вы.",
            "Нужна таблица.",
            "Нужны источники.",
        ],
        "chatter": ["Сайт тормозит.", "Ну ладно.", "Понятно."],
    },
    "fr": {
        "request": [
            "La réponse d'abord, les détails ensuite.",
            "Tu peux montrer un exemple ?",
            "Vous pouvez citer la source ?",
            "D'abord la conclusion.",
        ],
        "chatter": ["Le site rame."],
    },
    "es": {
        "request": [
            "Ve al grano desde la primera frase.",
            "¿Puedes poner un ejemplo?",
            "Primero la conclusión, luego los detalles.",
        ],
        "chatter": ["La página va lenta."],
    },
    "de": {
        "request": ["Du kannst mich duzen.", "Kannst du ein Beispiel geben?", "Zuerst das Ergebnis, dann die Details."],
        "chatter": ["Die Seite lädt ewig."],
    },
    "it": {
        "request": ["La conclusione va all'inizio.", "Puoi fare un esempio?", "Prima la conclusione, poi i dettagli."],
        "chatter": ["Il sito è lento."],
    },
}
PLAIN_HELD_OUT: dict[str, dict[str, list[str]]] = {
    "zh": {
        "request": [
            "增加几个案例。",
            "提及相关的司法解释。",
            "告知办理流程。",
            "分条列出注意事项。",
            "标注每条的出处。",
            "附一个模板。",
            "要有结论。",
            "先讲结论再讲理由。",
            "对比一下两种方案。",
        ],
        "negated": ["别附链接。", "不要提及具体金额。"],
        "chatter": ["加载不出来。", "写得挺清楚的。", "分享给朋友了。", "告辞。"],
    },
    "ja": {
        "request": [
            "もっと具体的に書いて。",
            "要点だけ教えて。",
            "表でまとめて。",
            "先に結論を言って。",
            "敬語を使って。",
        ],
        "chatter": ["今日は忙しい。", "了解です。", "画面が固まった。"],
    },
    "ru": {
        "request": [
            "Нужно больше примеров.",
            "Нужен вывод в конце.",
            "Не более пяти пунктов.",
            "Коротко и по делу.",
            "Сначала вывод, потом аргументы.",
            "Пиши проще.",
        ],
        "chatter": ["Интернет опять пропал.", "Ясно.", "Бывает."],
    },
    "fr": {
        "request": [
            "Tu peux faire plus court ?",
            "Vous pourriez ajouter un tableau ?",
            "D'abord le résumé, ensuite l'analyse.",
            "Un exemple concret serait le bienvenu.",
        ],
        "chatter": ["Le serveur plante encore.", "Bon, tant pis."],
    },
    "es": {
        "request": ["¿Puedes resumirlo?", "Primero el resumen, después el análisis.", "Hazlo más corto."],
        "chatter": ["Se me cayó la conexión.", "Bueno, ya veremos."],
    },
    "de": {
        "request": [
            "Könntest du eine Tabelle machen?",
            "Erst das Fazit, dann die Begründung.",
            "Du kannst ruhig kürzer schreiben.",
        ],
        "chatter": ["Mein Internet spinnt.", "Na gut."],
    },
    "it": {
        "request": ["Puoi aggiungere le fonti?", "Prima il riassunto, poi l'analisi.", "Il riassunto va in cima."],
        "chatter": ["La connessione è caduta.", "Va be'."],
    },
}


def right(statement, kind: str) -> bool:
    if kind == "request":
        return statement.directive and statement.sign > 0
    if kind == "negated":
        return statement.sign < 0
    return not statement.directive


def score(statement_of, labelled: dict[str, dict[str, list[str]]]) -> dict:
    wrong: dict[str, list[str]] = defaultdict(list)
    by_language = {}
    total = correct = 0
    for language, kinds in labelled.items():
        n = ok = 0
        for kind, texts in kinds.items():
            for text in texts:
                n += 1
                if right(statement_of(text), kind):
                    ok += 1
                else:
                    wrong[kind].append(text)
        by_language[language] = f"{ok}/{n}"
        total, correct = total + n, correct + ok
    return {
        "read_right": f"{correct}/{total}",
        "share": round(correct / max(1, total), 3),
        "by_language": by_language,
        "wrong": dict(wrong),
    }


def statement_of_at(revision: str):
    """`statement_of` of ``processors/evidence.py`` at a git revision (the module has no imports of the
    project, so it loads on its own)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:processors/evidence.py"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "evidence_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("evidence_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.statement_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="c5d34e2", help="git revision of the reading to compare with")
    args = parser.parse_args()
    from processors.evidence import statement_of

    before = statement_of_at(args.baseline)
    sets = {
        "dev": DEV,
        "held_out": HELD_OUT,
        "held_out_2": HELD_OUT_2,
        "typed": TYPED,
        "typed_held_out": TYPED_HELD_OUT,
        "hedged": HEDGED,
        "hedged_held_out": HEDGED_HELD_OUT,
        "hedged_eu": HEDGED_EU,
        "hedged_eu_held_out": HEDGED_EU_HELD_OUT,
        "courtesy": COURTESY,
        "courtesy_held_out": COURTESY_HELD_OUT,
        "casual": CASUAL,
        "casual_held_out": CASUAL_HELD_OUT,
        "casual_held_out_2": CASUAL_HELD_OUT_2,
        "plain": PLAIN,
        "plain_held_out": PLAIN_HELD_OUT,
    }
    emit(
        {
            "benchmark": "statements",
            "now": {name: score(statement_of, s) for name, s in sets.items() if s},
            "before": {name: score(before, s) for name, s in sets.items() if s},
            "baseline_revision": args.baseline,
        }
    )


if __name__ == "__main__":
    main()
