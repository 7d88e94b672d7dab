"""The evaluation judge: did a predicted reply match what the person actually said?

The rules, stated once so every report means the same thing:

- Both texts are normalised: Unicode casefolded, apostrophes dropped (``don't`` == ``dont``),
  every other punctuation or symbol character replaced by a space (``feat/pdf-export`` reads as
  ``feat pdf export``), whitespace collapsed.
- ``token_f1`` is the SQuAD bag-of-tokens F1 of the normalised texts: with ``c`` the number of
  tokens the two share (counted with multiplicity), precision is ``c / len(predicted)``, recall
  ``c / len(actual)`` and F1 their harmonic mean. Two empty texts score 1.0; one empty, 0.0.
- ``judge`` says ``accepted`` when the normalised texts are equal or F1 >= ``accept_f1`` (0.8),
  ``edited`` when F1 >= ``edit_f1`` (0.4), else ``rejected``.
"""

import unicodedata
from collections import Counter
from dataclasses import dataclass

ACCEPTED = "accepted"
EDITED = "edited"
REJECTED = "rejected"

DEFAULT_ACCEPT_F1 = 0.8
DEFAULT_EDIT_F1 = 0.4

_APOSTROPHES = frozenset("'\u2019\u02bc")


def _is_punctuation(char: str) -> bool:
    # P* is punctuation, S* symbols (+, $, |, ...): neither carries the meaning of a reply.
    return unicodedata.category(char)[0] in "PS"


def normalize(text: str) -> str:
    """Casefold, drop apostrophes, turn other punctuation into spaces, collapse whitespace."""
    chars = []
    for char in unicodedata.normalize("NFKC", text).casefold():
        if char in _APOSTROPHES:
            continue
        chars.append(" " if _is_punctuation(char) else char)
    return " ".join("".join(chars).split())


def tokens(text: str) -> list[str]:
    """The normalised text split on whitespace, in order, repeats kept."""
    return normalize(text).split()


def token_f1(predicted: str, actual: str) -> float:
    """SQuAD-style bag-of-tokens F1 in [0, 1]; both empty -> 1.0, exactly one empty -> 0.0."""
    return _tokens_f1(tokens(predicted), tokens(actual))


def _tokens_f1(predicted_tokens: list[str], actual_tokens: list[str]) -> float:
    if not predicted_tokens or not actual_tokens:
        return 1.0 if predicted_tokens == actual_tokens else 0.0
    common = sum((Counter(predicted_tokens) & Counter(actual_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted_tokens)
    recall = common / len(actual_tokens)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "accepted" | "edited" | "rejected"
    f1: float
    exact: bool  # the normalised texts are equal


def judge(
    *,
    predicted: str,
    actual: str,
    accept_f1: float = DEFAULT_ACCEPT_F1,
    edit_f1: float = DEFAULT_EDIT_F1,
) -> Verdict:
    """Judge ``predicted`` against the person's ``actual`` reply (rules in the module docstring).

    Raises ``ValueError`` unless ``0 <= edit_f1 <= accept_f1 <= 1``.
    """
    if not 0.0 <= edit_f1 <= accept_f1 <= 1.0:
        raise ValueError(
            f"Thresholds must satisfy 0 <= edit_f1 <= accept_f1 <= 1; "
            f"got edit_f1={edit_f1}, accept_f1={accept_f1}."
        )
    predicted_tokens, actual_tokens = tokens(predicted), tokens(actual)
    # The same as comparing the normalised texts: normalisation joins the tokens with spaces.
    exact = predicted_tokens == actual_tokens
    f1 = 1.0 if exact else _tokens_f1(predicted_tokens, actual_tokens)
    if exact or f1 >= accept_f1:
        outcome = ACCEPTED
    elif f1 >= edit_f1:
        outcome = EDITED
    else:
        outcome = REJECTED
    return Verdict(outcome=outcome, f1=f1, exact=exact)
