"""Sentiment of a journal entry by a small local lexicon: no external service, the same answer each time.

Each word found in the positive or negative lexicon counts +1 or -1; a negation ("not", "never", "no" …) up to
two words before it flips it. The score is ``(pos - neg) / (pos + neg + 1)``, in (-1, 1): one lone word
gives ±0.5, many words of one kind approach ±1, a balance gives 0. The label is ``positive`` from 0.2,
``negative`` up to -0.2, ``neutral`` between. Keywords are the sentiment words found (most frequent first,
at most five); themes are the life areas whose words occur (at most three, most mentioned first).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
THRESHOLD = 0.2
MAX_KEYWORDS = 5
MAX_THEMES = 3


def vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


POSITIVE = vocabulary(
    """happy happiness joy joyful glad grateful gratitude thankful love loved loving great good wonderful
    amazing awesome excellent fantastic calm peaceful relaxed proud progress success successful win won
    excited exciting fun enjoy enjoyed beautiful hope hopeful optimistic energized energetic confident
    accomplished productive inspired inspiring kind better best delighted cheerful content satisfied
    motivated blessed nice smile smiled laugh laughed celebrate celebrated rested strong brilliant"""
)
NEGATIVE = vocabulary(
    """sad sadness unhappy angry anger upset anxious anxiety worried worry stress stressed stressful tired
    exhausted exhausting awful terrible horrible bad worse worst hate hated lonely alone fear afraid scared
    frustrated frustrating frustration disappointed disappointing depressed depressing miserable overwhelmed
    hurt pain painful sick ill fail failed failure lost guilty ashamed annoyed bored boring cry cried crying
    regret hopeless weak grief tense nervous drained burnout"""
)
NEGATIONS = vocabulary(
    """not no never nothing nobody hardly barely without isn't wasn't don't didn't doesn't can't couldn't
    won't wouldn't aren't weren't haven't hasn't isn’t wasn’t don’t didn’t doesn’t can’t couldn’t"""
)
THEMES: dict[str, frozenset[str]] = {
    "work": vocabulary(
        "work job office meeting meetings project projects boss colleague colleagues career deadline "
        "deadlines client clients"
    ),
    "family": vocabulary(
        "family mom mother dad father parents kids children son daughter brother sister wife husband"
    ),
    "relationships": vocabulary("friend friends partner date relationship love together"),
    "health": vocabulary("health exercise run running ran gym workout sleep slept walk yoga doctor diet"),
    "learning": vocabulary("learn learned learning study studied read reading book course class lesson"),
    "money": vocabulary("money budget savings bills rent salary pay paid spend spent invest"),
    "gratitude": vocabulary("grateful gratitude thankful thanks appreciate appreciated blessed"),
    "creativity": vocabulary(
        "write writing wrote paint painting music draw drawing create created idea ideas"
    ),
    "rest": vocabulary("rest rested relax relaxed vacation holiday weekend nap calm"),
}


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: str
    keywords: list[str]
    themes: list[str]
    source: str = "rules"


def words(text: str) -> list[str]:
    return WORD.findall(text)


def analyse(text: str) -> Sentiment | None:
    """The sentiment of ``text``; ``None`` when it has no words."""
    found = [w.lower() for w in words(text)]
    if not found:
        return None
    positive = negative = 0
    keywords: Counter[str] = Counter()
    for i, word in enumerate(found):
        polarity = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
        if not polarity:
            continue
        if any(w in NEGATIONS for w in found[max(0, i - 2) : i]):
            polarity = -polarity
        if polarity > 0:
            positive += 1
        else:
            negative += 1
        keywords[word] += 1
    score = round((positive - negative) / (positive + negative + 1), 4)
    label = "positive" if score >= THRESHOLD else "negative" if score <= -THRESHOLD else "neutral"
    mentions = Counter({theme: sum(1 for w in found if w in vocab) for theme, vocab in THEMES.items()})
    themes = [theme for theme, count in mentions.most_common() if count][:MAX_THEMES]
    return Sentiment(
        score=score,
        label=label,
        keywords=[w for w, _ in keywords.most_common(MAX_KEYWORDS)],
        themes=themes,
    )
