"""The evaluation judge: did a predicted reply match what the person actually said?

The rules, stated once so every report means the same thing:

- Both texts are put in canonical form (:func:`clone_server.text.canonical`: casefolded,
  apostrophes dropped, other punctuation to spaces, whitespace collapsed).
- ``token_f1`` (:func:`clone_server.text.token_f1`) is the SQuAD bag-of-tokens F1 of the
  canonical texts: with ``c`` the number of tokens the two share (counted with multiplicity),
  precision is ``c / len(predicted)``, recall ``c / len(actual)`` and F1 their harmonic mean.
  Two empty texts score 1.0; one empty, 0.0.
- ``judge`` says ``accepted`` when the canonical texts are equal or F1 >= ``accept_f1`` (0.8),
  ``edited`` when F1 >= ``edit_f1`` (0.4), else ``rejected``.
"""

from dataclasses import dataclass

from clone_server.text import SAME_REPLY_F1, tokens, tokens_f1

ACCEPTED = "accepted"
EDITED = "edited"
REJECTED = "rejected"

# Accepted means "the same reply" as the offline predictor groups them.
DEFAULT_ACCEPT_F1 = SAME_REPLY_F1
DEFAULT_EDIT_F1 = 0.4


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "accepted" | "edited" | "rejected"
    f1: float
    exact: bool  # the canonical texts are equal


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
    # The same as comparing the canonical texts: the canonical form joins the tokens with spaces.
    exact = predicted_tokens == actual_tokens
    f1 = 1.0 if exact else tokens_f1(predicted_tokens, actual_tokens)
    if exact or f1 >= accept_f1:
        outcome = ACCEPTED
    elif f1 >= edit_f1:
        outcome = EDITED
    else:
        outcome = REJECTED
    return Verdict(outcome=outcome, f1=f1, exact=exact)
