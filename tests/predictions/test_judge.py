import pytest

from clone_server.text import canonical as normalize
from clone_server.text import token_f1, tokens
from predictions.judge import Verdict, judge


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Yes, Commit!", "yes commit", id="case-and-punctuation"),
        pytest.param("  no,\n\topen   a PR.  ", "no open a pr", id="whitespace-collapsed"),
        pytest.param("don't", "dont", id="apostrophe-dropped"),
        pytest.param("don\u2019t", "dont", id="curly-apostrophe-dropped"),
        pytest.param("feat/pdf-export", "feat pdf export", id="slash-and-hyphen-split-words"),
        pytest.param("STRASSE", "strasse", id="casefold"),
        pytest.param("Straße", "strasse", id="casefold-sharp-s"),
        pytest.param("«oui» — d\u2019accord…", "oui daccord", id="unicode-punctuation"),
        pytest.param("…?!", "", id="only-punctuation"),
        pytest.param("", "", id="empty"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_tokens_keep_order_and_repeats():
    assert tokens("Yes, yes -- run it!") == ["yes", "yes", "run", "it"]


@pytest.mark.parametrize(
    ("predicted", "actual", "expected"),
    [
        # Same tokens: P = R = 1 -> F1 = 1.
        pytest.param("yes, commit", "Yes commit.", 1.0, id="identical-after-normalising"),
        # Token order is ignored (bag of tokens).
        pytest.param("commit yes", "yes commit", 1.0, id="order-ignored"),
        # pred [yes], actual [yes, run, it]: common 1, P = 1/1, R = 1/3,
        # F1 = 2 * 1 * 1/3 / (1 + 1/3) = (2/3) / (4/3) = 0.5.
        pytest.param("yes", "yes, run it", 0.5, id="one-of-three"),
        # pred [no, open, a, pr], actual [no, open, a, pull, request]: common 3,
        # P = 3/4, R = 3/5, F1 = 2 * (9/20) / (27/20) = 18/27 = 2/3.
        pytest.param("no, open a PR", "no, open a pull request", 2 / 3, id="three-of-four-five"),
        # pred [yes, but, back, up, the, db, first] (7), actual [yes, back, up, the, database,
        # first] (6): common 5, P = 5/7, R = 5/6, F1 = 2*5 / (7+6) = 10/13.
        pytest.param(
            "yes, but back up the db first",
            "yes, back up the database first",
            10 / 13,
            id="ten-thirteenths",
        ),
        # Multiplicity counts: pred [yes, yes] vs actual [yes]: common min(2, 1) = 1,
        # P = 1/2, R = 1/1, F1 = 2 * 1/2 / (3/2) = 2/3.
        pytest.param("yes yes", "yes", 2 / 3, id="repeats-counted-once-per-match"),
        # feat/invoice-pdf vs feat/checkout-retry: [feat, invoice, pdf] vs [feat, checkout,
        # retry]: common 1, P = R = 1/3, F1 = 1/3.
        pytest.param("feat/invoice-pdf", "feat/checkout-retry", 1 / 3, id="branch-names"),
        pytest.param("pnpm", "npm", 0.0, id="nothing-shared"),
        pytest.param("", "", 1.0, id="both-empty"),
        pytest.param("?!", "...", 1.0, id="both-empty-after-normalising"),
        pytest.param("", "yes", 0.0, id="prediction-empty"),
        pytest.param("yes", "", 0.0, id="actual-empty"),
    ],
)
def test_token_f1(predicted, actual, expected):
    assert token_f1(predicted, actual) == pytest.approx(expected)


def test_token_f1_is_symmetric():
    assert token_f1("yes run it", "yes") == token_f1("yes", "yes run it")


@pytest.mark.parametrize(
    ("predicted", "actual", "outcome", "exact"),
    [
        pytest.param("Yes, commit.", "yes commit", "accepted", True, id="normalised-equal"),
        # [yes, run, the, tests, now] vs [yes, run, the, tests]: common 4, P = 4/5, R = 1,
        # F1 = 2 * 4/5 / (9/5) = 8/9 ~ 0.889 >= 0.8.
        pytest.param("yes run the tests now", "yes run the tests", "accepted", False, id="f1-0.89"),
        # 2/3 (see above) is in [0.4, 0.8).
        pytest.param("no, open a PR", "no, open a pull request", "edited", False, id="f1-0.67"),
        # 0.5 exactly is in [0.4, 0.8).
        pytest.param("yes", "yes, run it", "edited", False, id="f1-0.5"),
        # 1/3 < 0.4.
        pytest.param("feat/invoice-pdf", "feat/checkout-retry", "rejected", False, id="f1-0.33"),
        pytest.param("pnpm", "npm", "rejected", False, id="f1-0"),
        pytest.param("", "", "accepted", True, id="both-empty"),
        pytest.param("", "yes", "rejected", False, id="empty-prediction"),
    ],
)
def test_judge_default_thresholds(predicted, actual, outcome, exact):
    verdict = judge(predicted=predicted, actual=actual)
    assert verdict.outcome == outcome
    assert verdict.exact is exact
    assert verdict.f1 == pytest.approx(token_f1(predicted, actual))


def test_judge_threshold_is_inclusive():
    # [a, b, c, d] vs [a, b, c, d, e]: P = 1, R = 4/5, F1 = 2 * 4/5 / (9/5) = 8/9.
    assert judge(predicted="a b c d", actual="a b c d e", accept_f1=8 / 9).outcome == "accepted"
    # F1 = 0.5 (see above) meets edit_f1 = 0.5 exactly.
    assert judge(predicted="yes", actual="yes run it", edit_f1=0.5).outcome == "edited"


@pytest.mark.parametrize(
    ("accept_f1", "edit_f1", "outcome"),
    [
        pytest.param(0.5, 0.4, "accepted", id="lenient-accept"),
        pytest.param(0.9, 0.6, "edited", id="strict-edit"),
        pytest.param(0.9, 0.7, "rejected", id="strict-both"),
    ],
)
def test_judge_thresholds_are_options(accept_f1, edit_f1, outcome):
    # F1 of "no open a pr" vs "no open a pull request" is 2/3 (arithmetic above).
    verdict = judge(
        predicted="no, open a PR",
        actual="no, open a pull request",
        accept_f1=accept_f1,
        edit_f1=edit_f1,
    )
    assert verdict == Verdict(outcome=outcome, f1=pytest.approx(2 / 3), exact=False)


@pytest.mark.parametrize(
    ("accept_f1", "edit_f1"),
    [
        pytest.param(0.4, 0.8, id="edit-above-accept"),
        pytest.param(1.5, 0.4, id="accept-above-one"),
        pytest.param(0.8, -0.1, id="edit-negative"),
    ],
)
def test_judge_rejects_inconsistent_thresholds(accept_f1, edit_f1):
    with pytest.raises(ValueError, match="Thresholds"):
        judge(predicted="yes", actual="yes", accept_f1=accept_f1, edit_f1=edit_f1)


def test_verdict_is_immutable():
    verdict = judge(predicted="yes", actual="yes")
    with pytest.raises(AttributeError):
        verdict.outcome = "rejected"
