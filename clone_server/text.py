"""The shared text toolkit: what "the same reply" and "a similar prompt" mean, everywhere.

Used by Memory (relevance, local promotion) and Prediction (the offline predictor, the
evaluation judge), so that a reply grouped as "the same" when predicting is the same one the
judge accepts, and one synonym table and one recency half-life serve every caller.

- :func:`canonical`: Unicode casefolded (NFKC), apostrophes dropped (``don't`` == ``dont``),
  every other punctuation or symbol character replaced by a space (``feat/pdf-export`` reads as
  ``feat pdf export``), whitespace collapsed. Cached, with a fast path for ASCII text.
- :func:`token_f1`: the SQuAD bag-of-tokens F1 of the canonical texts.
- :func:`terms`: stemmed content words, mapped through ``SYNONYMS``.
- :func:`prompt_similarity`: how much two prompts ask the same thing, in [0, 1]:
  ``0.6 * Jaccard + 0.4 * cosine(character trigrams)`` of their terms, the asking sentence
  weighing ``QUESTION_WEIGHT`` and the whole text the rest.
- :func:`recency`: ``0.5 ** (age_days / HALF_LIFE_DAYS)``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

HALF_LIFE_DAYS = 30.0
# Replies at least this close (token F1) are the same reply; the judge's default accept bar.
SAME_REPLY_F1 = 0.8
QUESTION_WEIGHT = 0.7

_APOSTROPHES = frozenset("'\u2019\u02bc")


def _is_punctuation(char: str) -> bool:
    # P* is punctuation, S* symbols (+, $, |, ...): neither carries the meaning of a reply.
    return unicodedata.category(char)[0] in "PS"


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that carry no meaning for "is this the same question" (and polarity words, which
# facts use to state a preference rather than a topic).
STOPWORDS = _wordset(
    """a an the to of for in on at by with from into onto about as and or but if then so than
    is are was were be been being am do does did done doing have has had having will would shall
    should can could may might must i me my mine we us our you your yours it its this that these
    those there here what which who whom how when where why please now just also ok okay go ahead
    let lets want wanna like need yes no not never always usually often prefer prefers preferred
    person they them their he she his her avoid avoids im ive youre thats whats isnt arent cant
    didnt dont doesnt wont shouldnt wouldnt instead rather over use uses used using"""
)

# The one synonym table. Words in a group mean the same thing to a developer: ``terms`` maps
# each to its group's first word (before and after stemming), and relevance widens a search
# with the whole group.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("test", "pytest", "jest", "vitest", "unittest", "tests", "testing", "suite", "specs", "spec"),
    ("run", "execute", "exec", "launch"),
    ("delete", "remove", "rm", "wipe", "erase"),
    ("install", "reinstall"),
    ("migration", "migrate"),
    ("database", "db"),
    ("repository", "repo"),
    ("dependency", "deps", "dependencies"),
    ("pull", "pr"),
    ("continue", "proceed"),
)
# Looser neighbours of a group (or groups of their own) that people and agents use
# interchangeably when asking for permission to act: relevance widens a search with them too,
# but they are not the same word, so ``terms`` leaves them alone.
RELATED_GROUPS: tuple[tuple[str, ...], ...] = (
    ("delete", "drop"),
    ("run", "start"),
    ("install", "add", "setup"),
    ("create", "make", "new", "generate", "scaffold"),
    ("update", "upgrade", "bump"),
    ("fix", "repair", "patch", "resolve"),
    ("deploy", "ship", "release", "publish"),
    ("commit", "save", "checkpoint"),
    ("push", "upload"),
    ("database", "postgres", "sqlite"),
    ("migration", "migrations"),
    ("dependency", "package", "packages", "library"),
    ("config", "configuration", "settings"),
    ("backup", "back", "snapshot", "dump"),
    ("refactor", "restructure", "rewrite", "cleanup"),
    ("branch", "checkout"),
    ("continue", "go", "ahead"),
    ("stop", "abort", "cancel", "halt"),
    ("error", "failure", "exception", "bug", "crash"),
    ("docs", "documentation", "readme"),
    ("lint", "linter", "ruff", "eslint", "format"),
)
SYNONYMS: dict[str, str] = {word: group[0] for group in SYNONYM_GROUPS for word in group[1:]}


def _widening() -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for group in (*SYNONYM_GROUPS, *RELATED_GROUPS):
        words = groups.setdefault(group[0], [])
        words.extend(w for w in group if w not in words)
    return {word: tuple(words) for words in groups.values() for word in words}


# Every word of a group (synonyms and related words) -> the whole group, head first.
WIDER_WORDS: dict[str, tuple[str, ...]] = _widening()

# Cached: the same prompts and replies come back in every call of a batch and across calls.
# The rule above for ASCII: apostrophes dropped, punctuation and symbols (P*, S*) to spaces.
_ASCII_TABLE = str.maketrans(
    {
        c: (None if c == "'" else " ")
        for c in map(chr, range(128))
        if unicodedata.category(c)[0] in "PS"
    }
)


def _canonical_slow(text: str) -> str:
    chars = []
    for char in unicodedata.normalize("NFKC", text).casefold():
        if char in _APOSTROPHES:
            continue
        chars.append(" " if _is_punctuation(char) else char)
    return " ".join("".join(chars).split())


@lru_cache(maxsize=16384)
def _canonical(text: str) -> str:
    if text.isascii():
        return " ".join(text.translate(_ASCII_TABLE).lower().split())
    return _canonical_slow(text)


def canonical(text: str | None) -> str:
    """Casefold, drop apostrophes, turn other punctuation into spaces, collapse whitespace."""
    return _canonical(text or "")


def tokens(text: str) -> list[str]:
    """The canonical text split on whitespace, in order, repeats kept."""
    return canonical(text).split()


def tokens_f1(predicted_tokens: list[str], actual_tokens: list[str]) -> float:
    """Bag-of-tokens F1 of two token lists; both empty -> 1.0, exactly one empty -> 0.0."""
    if not predicted_tokens or not actual_tokens:
        return 1.0 if predicted_tokens == actual_tokens else 0.0
    common = sum((Counter(predicted_tokens) & Counter(actual_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted_tokens)
    recall = common / len(actual_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(predicted: str, actual: str) -> float:
    """SQuAD-style bag-of-tokens F1 in [0, 1]; both empty -> 1.0, exactly one empty -> 0.0."""
    return tokens_f1(tokens(predicted), tokens(actual))


@lru_cache(maxsize=16384)
def _reply_bag(text: str) -> tuple[str, Counter, int]:
    normal = _canonical(text)
    words = normal.split()
    return normal, Counter(words), len(words)


def same_reply(a: str, b: str) -> bool:
    """Equal canonical texts, or near-identical ones (token F1 >= ``SAME_REPLY_F1``),
    computed from cached token bags."""
    (na, ca, la), (nb, cb, lb) = _reply_bag(a), _reply_bag(b)
    if na == nb:
        return True
    if not la or not lb:
        return False
    common = sum((ca & cb).values())
    return common > 0 and 2 * common / (la + lb) >= SAME_REPLY_F1


@lru_cache(maxsize=16384)
def stem(token: str) -> str:
    """A light suffix stripper: enough for plurals and -ing/-ed forms, never below 3 letters."""
    token = SYNONYMS.get(token, token)
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if not token.endswith(suffix) or len(token) - len(suffix) < 3:
            continue
        if suffix == "es" and not token.endswith(("ses", "xes", "zes", "ches", "shes")):
            continue
        if suffix == "s" and token.endswith(("ss", "us", "is")):
            continue
        token = token[: len(token) - len(suffix)] + replacement
        if suffix in ("ing", "ed") and len(token) > 3 and token[-1] == token[-2]:
            token = token[:-1]  # running -> run, committed -> commit
        break
    return SYNONYMS.get(token, token)


def terms(text: str) -> list[str]:
    """Stemmed content words, in order; all stemmed words if every word is a stopword."""
    words = _canonical(text).split()
    content = [stem(w) for w in words if w not in STOPWORDS]
    return content or [stem(w) for w in words]


@dataclass(frozen=True)
class _Bag:
    terms: frozenset[str]
    trigrams: Counter
    norm: float


@dataclass(frozen=True)
class PromptFeatures:
    whole: _Bag
    question: _Bag  # the last sentence that asks something; the whole text if only one


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _bag(text: str) -> _Bag:
    words = terms(text)
    padded = f" {' '.join(words)} "
    grams = Counter(padded[i : i + 3] for i in range(len(padded) - 2))
    return _Bag(frozenset(words), grams, math.sqrt(sum(c * c for c in grams.values())))


def asking_sentence(text: str) -> str:
    """The sentence of a prompt that asks: the last one ending in "?", else the last one."""
    sentences = [s for s in _SENTENCE_END.split((text or "").strip()) if s]
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return (asking or sentences or [""])[-1]


@lru_cache(maxsize=16384)
def prompt_features(text: str) -> PromptFeatures:
    # Agents often wrap the question in context ("Done with api.ts. Proceed?"); the context is
    # shared by unrelated questions, so the asking sentence counts most.
    question = asking_sentence(text)
    whole = _bag(text)
    return PromptFeatures(whole, whole if question == text.strip() else _bag(question))


def _jaccard(a: _Bag, b: _Bag) -> float:
    if not a.terms or not b.terms:
        return 0.0
    return len(a.terms & b.terms) / len(a.terms | b.terms)


def _bag_similarity(a: _Bag, b: _Bag) -> float:
    if not a.terms or not b.terms:
        return 0.0
    if a.norm and b.norm:
        small, large = sorted((a.trigrams, b.trigrams), key=len)
        dot = sum(count * large.get(gram, 0) for gram, count in small.items())
        cosine = dot / (a.norm * b.norm)
    else:
        cosine = 0.0
    return min(1.0, 0.6 * _jaccard(a, b) + 0.4 * cosine)


def features_similarity(a: PromptFeatures, b: PromptFeatures, floor: float = 0.0) -> float:
    if floor > 0:
        # An upper bound from the cheap part (cosine <= 1): skip the trigrams when it can't reach.
        bound = QUESTION_WEIGHT * (0.6 * _jaccard(a.question, b.question) + 0.4) + (
            1 - QUESTION_WEIGHT
        ) * (0.6 * _jaccard(a.whole, b.whole) + 0.4)
        if bound < floor:
            return 0.0
    return QUESTION_WEIGHT * _bag_similarity(a.question, b.question) + (
        1 - QUESTION_WEIGHT
    ) * _bag_similarity(a.whole, b.whole)


def prompt_similarity(a: str, b: str, *, floor: float = 0.0) -> float:
    """How much two prompts ask the same thing, in [0, 1] (1 for the same content words).
    With ``floor``, any value below it may be returned as 0.0 (faster when only "is it at least
    ``floor``?" matters)."""
    return features_similarity(prompt_features(a), prompt_features(b), floor)


# --- time ----------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from a datetime or an ISO string (naive means UTC); None if unusable."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def recency(
    when: datetime | None,
    anchor: datetime | None,
    *,
    unknown: float,
    half_life_days: float = HALF_LIFE_DAYS,
) -> float:
    """``0.5 ** (age_days / half_life_days)`` of ``when`` before ``anchor`` (an age below zero
    counts as zero); ``unknown`` when either time is missing."""
    if when is None or anchor is None:
        return unknown
    age_days = max(0.0, (anchor - when).total_seconds() / 86400)
    return 0.5 ** (age_days / half_life_days)
