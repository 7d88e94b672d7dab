"""The offline predictor for structured agent requests: the person's own past decisions on the
same kind of action, level by level. Pure functions over plain dicts: no database, no network.

A request that carries a ``tool`` (``{"name": "Bash", "input": {"command": "npm test"}}``) is
placed in a hierarchy of ever wider neighbourhoods of the person's past decisions:

====  ===========================================================================
L0    the same tool with the same command / arguments / path / URL
L1    the same tool and the same command head (``git push``, ``npm test``, ``rm``),
      the same path prefix (directory) or the same host
L2    the same tool (for a request without a tool: the same question wording)
L3    the same agent, any request
====  ===========================================================================

Each past decision is mapped to one of the request's options (``"y"``, ``"yes please"``, ``"go
ahead"`` are "yes"; see :func:`option_for`) and weighs ``0.5 ** (age_days / HALF_LIFE_DAYS)``
(recency counts), times ``SESSION_WEIGHT`` when it was given in the last ``SESSION_MINUTES``
(the same working session: what the person just said to this kind of request moves the
prediction most). At L0 the person's latest answer to the very same request weighs
``LAST_ANSWER_WEIGHT`` times more again: when they answered it both ways, what they said last
is their current policy, while older answers and the wider levels still count. The estimate is
shrunk from the widest level to the finest (a Dirichlet prior whose mean is the wider level's
estimate and whose strength is ``PRIOR_STRENGTH``)::

    p_L3(o) = (w_L3(o) + s / m) / (W_L3 + s)           m options, s = PRIOR_STRENGTH
    p_Lk(o) = (w_Lk(o) + s * p_Lk+1(o)) / (W_Lk + s)   k = 2, 1, 0

so a level with much evidence speaks for itself and a level with little defers to the wider
one. The raw confidence of an option is ``p_L0(o)``.

A kind of request the person never answered (nothing at L2: their first shell command, their
first URL) rests on the agent level alone, where pooling every answer would let the kind asked
most speak for all: forty refusals of URLs would decide the first shell command. There each
kind the person answered counts once, as one piece of evidence of their policy, weighed by how
much its own answers say (the weight its answers get in its own estimate above)::

    w_L3(o) = sum over kinds g of  w_g(o) / (W_g + s)

so a kind answered once counts a third, one answered often nearly one.

Evidence cap. However the levels agree, a candidate's confidence may not exceed the posterior
mean of its rate under a Jeffreys prior, ``(a + 1/2) / (n + 1)``, at the best-supported level
that vouches for the request, where ``n`` is the number of past decisions at that level (a
count: the amount of evidence) and ``a = n * share`` with ``share`` the candidate's part of the
level's weight (so recency and the session count here too): three answers out of three give at
most 0.875, 41 of 41 at most 0.988. For a shell command only L0 and L1 vouch ("any shell
command" is too broad: 41 approvals of ``npm test`` say nothing about ``terraform destroy``);
for other tools L0-L2; the agent level never does. ``evidence_cap`` is returned with each
candidate so that the calibrated confidence is capped too (calibration cannot create evidence).
A request with no past decision at a vouching level is novel: its cap is ``NOVEL_CAP`` (0.7),
below any sensible threshold, whatever the wider levels say.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from clone_server.text import canonical, recency

HALF_LIFE_DAYS = 60.0
SESSION_MINUTES = 30.0
SESSION_WEIGHT = 2.0
LAST_ANSWER_WEIGHT = 2.0
PRIOR_STRENGTH = 2.0
CAP_PRIOR = 0.5
# A request nothing vouches for: whatever the wider levels say, below any sensible threshold.
NOVEL_CAP = 0.7
# The levels that vouch for a request. For a shell command, only the same command or the same
# command head: "any shell command" is too broad (41 approvals of `npm test` say nothing about
# `terraform destroy`). For other tools (a file, a URL), the same tool too. Never the agent level.
CAP_LEVELS_COMMAND = ("L0", "L1")
CAP_LEVELS_OTHER = ("L0", "L1", "L2")
LEVELS = ("L0", "L1", "L2", "L3")
LEVEL_NAMES = {
    "L0": "the same request",
    "L1": "similar requests",
    "L2": "this kind of request",
    "L3": "any request from this agent",
}

YES_NO = ("yes", "no")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_YES_WORDS = _words(
    "y yes yeah yep yup sure ok okay k go ahead proceed approve approved allow allowed accept "
    "continue do it please lgtm fine run apply confirm"
)
_NO_WORDS = _words(
    "n no nope nah dont stop deny denied reject rejected refuse cancel skip abort never "
    "not wait hold"
)
# Tools whose command's first words name the action: two words of these ("git push").
_TWO_WORD_HEADS = _words(
    "git npm pnpm yarn npx bun cargo go pip pip3 uv poetry docker kubectl make python python3 "
    "node deno dotnet mvn gradle brew apt apt-get systemctl gh terraform helm"
)
_PATH_KEYS = ("file_path", "path", "notebook_path", "filename", "file")
_URL_KEYS = ("url", "uri")
_COMMAND_KEYS = ("command", "cmd")


def option_for(reply: str, options: Sequence[str]) -> str | None:
    """The option a reply chose, or None when it names none of them.

    Exact (normalised) match first; then, for an option list holding "yes"/"no", the reply's
    first words ("y", "yes please", "go ahead" -> "yes"; "n", "nope, not now" -> "no"); then an
    option whose words the reply starts with ("always allow" -> "always")."""
    said = canonical(reply)
    if not said:
        return None
    normal = {canonical(o): o for o in options}
    if said in normal:
        return normal[said]
    words = said.split()
    lowered = {o.lower(): o for o in options}
    if "yes" in lowered or "no" in lowered:
        head = words[0]
        two = " ".join(words[:2])
        if head in _NO_WORDS or two == "do not":
            return lowered.get("no")
        if head in _YES_WORDS or two in ("go ahead", "do it"):
            return lowered.get("yes")
    for key, option in normal.items():
        if key and (said.startswith(key + " ") or key.startswith(said + " ")):
            return option
    return None


def command_head(command: str) -> str:
    """The action a shell command names: ``git push --force`` -> ``git push``, ``rm -rf x`` ->
    ``rm``, ``cd web && pnpm dev`` -> ``pnpm dev``; empty for an empty command."""
    first = (command or "").strip().splitlines()[0] if (command or "").strip() else ""
    # The last step of "cd x && y" is the action; a leading "cd" only sets the scene.
    steps = [s.strip() for s in re.split(r"&&|\|\||;", first) if s.strip()]
    steps = [s for s in steps if not s.startswith("cd ")] or steps
    if not steps:
        return ""
    try:
        words = shlex.split(steps[-1])
    except ValueError:
        words = steps[-1].split()
    words = [w for w in words if "=" not in w or w.startswith("-")] or words  # FOO=1 npm test
    if words and words[0] in ("sudo", "env", "time", "nohup"):
        words = words[1:] or words
    if not words:
        return ""
    program = posixpath.basename(words[0])
    if program in _TWO_WORD_HEADS and len(words) > 1:
        rest = next((w for w in words[1:] if not w.startswith("-")), "")
        if program in ("python", "python3") and "-m" in words:
            module = words[words.index("-m") + 1] if words.index("-m") + 1 < len(words) else ""
            return f"{program} -m {module}".strip()
        return f"{program} {rest}".strip()
    return program


def _tool_input(tool: dict[str, Any] | None) -> dict[str, Any]:
    """The tool call's arguments; ``{}`` when there are none or they are not an object."""
    arguments = (tool or {}).get("input")
    return arguments if isinstance(arguments, dict) else {}


def _command_of(tool: dict[str, Any] | None) -> str:
    tool_input = _tool_input(tool)
    return next((str(tool_input[k]) for k in _COMMAND_KEYS if tool_input.get(k)), "")


def _path_prefix(path: str) -> str:
    directory = posixpath.dirname((path or "").replace("\\", "/").rstrip("/"))
    return directory or "."


def request_keys(*, agent: str, tool: dict[str, Any] | None, text: str) -> dict[str, str]:
    """The request's key at each level (see the module docstring)."""
    if tool:
        first = ""
    else:
        stripped = (text or "").strip()
        first = stripped.splitlines()[0] if stripped else ""
    found = _keys.get(
        lambda: (agent or "", _frozen(tool), first),
        lambda: _request_keys_uncached(agent=agent or "", tool=tool, text=first),
    )
    return dict(found)


class _Memo:
    """Values computed once per process from inputs that are not hashable themselves (JSON from
    the database), under a key derived from them; emptied when full. The same past requests and
    decisions come back on every predict of a person."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.found: dict[Any, Any] = {}

    def get(self, key: Callable[[], Any], compute: Callable[[], Any]) -> Any:
        try:
            derived = key()
            value = self.found.get(derived, _UNREAD)
        except TypeError:  # an input that cannot be a key: computed, not kept
            return compute()
        if value is _UNREAD:
            value = compute()
            if len(self.found) >= self.size:
                self.found.clear()
            self.found[derived] = value
        return value


_UNREAD = object()
_keys = _Memo(16384)


def _request_keys_uncached(*, agent: str, tool: dict[str, Any] | None, text: str) -> dict[str, str]:
    agent_key = (agent or "").strip().casefold()
    name = str((tool or {}).get("name") or "").strip()
    tool_input = _tool_input(tool)
    if not name:
        template = canonical(text.strip().splitlines()[0] if (text or "").strip() else "")
        return {
            "L0": f"text:{template}",
            "L1": f"text:{template}",
            "L2": f"text:{template}",
            "L3": f"agent:{agent_key}",
        }
    tool_key = f"{agent_key}|{name.casefold()}"
    command = next((str(tool_input[k]) for k in _COMMAND_KEYS if tool_input.get(k)), "")
    path = next((str(tool_input[k]) for k in _PATH_KEYS if tool_input.get(k)), "")
    url = next((str(tool_input[k]) for k in _URL_KEYS if tool_input.get(k)), "")
    if command:
        exact = " ".join(command.split())
        wider = f"head:{command_head(command)}"
    elif path:
        exact = path.replace("\\", "/")
        wider = f"dir:{_path_prefix(path)}"
    elif url:
        exact = url
        wider = f"host:{(urlsplit(url).hostname or '').casefold()}"
    else:
        # Other tools: their whole input is the request (sorted, so key order does not matter).
        exact = repr(sorted((str(k), str(v)) for k, v in tool_input.items()))
        wider = exact
    return {
        "L0": f"{tool_key}|{exact}",
        "L1": f"{tool_key}|{wider}",
        "L2": tool_key,
        "L3": f"agent:{agent_key}",
    }


@dataclass(frozen=True)
class Decision:
    """One past answer of the person: the request's keys, the option chosen, when."""

    keys: dict[str, str]
    option: str
    when: datetime | None
    subject: str = ""


@dataclass
class StructuredCandidate:
    text: str
    confidence: float
    evidence_cap: float
    reasoning: str
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # level -> (agree, n)


def decisions_from(*, history: Iterable[dict[str, Any]], options: Sequence[str]) -> list[Decision]:
    """Past answered prompts (``{"agent", "prompt", "reply", "tool", "occurred_at"}``) as
    decisions among ``options``; replies naming no option are left out."""
    choices = tuple(options)
    found = []
    for item in history:
        if not isinstance(item, dict):
            continue
        tool = item.get("tool") if isinstance(item.get("tool"), dict) else None
        decision = _decision_cached(item, tool, choices)
        if decision is not None:
            found.append(decision)
    return found


# Each past decision is read once per process (its keys, the option it chose, its time); only
# its weight, which depends on the moment, is computed per predict.
_decisions = _Memo(4096)


def _decision_cached(
    item: dict[str, Any], tool: dict[str, Any] | None, choices: tuple[str, ...]
) -> Decision | None:
    return _decisions.get(
        lambda: (
            choices,
            str(item.get("agent") or ""),
            _frozen(tool),
            str(item.get("prompt") or ""),
            str(item.get("reply") or ""),
            item.get("occurred_at"),
        ),
        lambda: _decision_of(item, tool, choices),
    )


def _frozen(value: Any) -> Any:
    """A JSON value as a hashable key: objects as their sorted items, arrays as tuples, and
    numbers with their type (``1``, ``1.0`` and ``true`` are equal keys in Python)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[]", tuple(_frozen(v) for v in value))
    if value is None or isinstance(value, str):
        return value
    return (type(value).__name__, value)


def _decision_of(
    item: dict[str, Any], tool: dict[str, Any] | None, choices: tuple[str, ...]
) -> Decision | None:
    option = option_for(str(item.get("reply") or ""), choices)
    if option is None:
        return None
    keys = request_keys(
        agent=str(item.get("agent") or ""), tool=tool, text=str(item.get("prompt") or "")
    )
    return Decision(keys, option, parse_time(item.get("occurred_at")), _subject(tool))


def _subject(tool: dict[str, Any] | None) -> str:
    tool_input = _tool_input(tool)
    for key in (*_COMMAND_KEYS, *_PATH_KEYS, *_URL_KEYS):
        if tool_input.get(key):
            return " ".join(str(tool_input[key]).split())[:80]
    return ""


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _weight(when: datetime | None, now: datetime | None) -> float:
    if when is None or now is None:
        return 1.0
    try:
        age = (now - when).total_seconds()
    except TypeError:
        return 1.0
    weight = recency(when, now, unknown=1.0, half_life_days=HALF_LIFE_DAYS)
    if 0 <= age <= SESSION_MINUTES * 60:
        weight *= SESSION_WEIGHT
    return weight


def options_for(*, options: Sequence[str] | None, text: str) -> list[str]:
    """The request's candidate answers: its options, else yes/no."""
    cleaned = [str(o).strip() for o in (options or []) if str(o).strip()]
    return list(dict.fromkeys(cleaned)) or list(YES_NO)


def structured_predict(
    *,
    agent: str,
    text: str,
    tool: dict[str, Any] | None,
    options: Sequence[str] | None,
    history: Iterable[dict[str, Any]],
    now: datetime | None,
    k: int = 3,
) -> list[StructuredCandidate]:
    """Candidates among the request's options, best first (see the module docstring).

    Promises: deterministic; confidences in [0, 1], each at most its ``evidence_cap``; empty
    when the person has answered nothing this agent asked (no level has evidence)."""
    choices = options_for(options=options, text=text)
    keys = request_keys(agent=agent, tool=tool, text=text)
    decisions = decisions_from(history=history, options=choices)
    weights = {level: dict.fromkeys(choices, 0.0) for level in LEVELS}
    counts = {level: dict.fromkeys(choices, 0) for level in LEVELS}
    # By position: two equal answers at the same moment are one cached Decision.
    same = [i for i, d in enumerate(decisions) if d.keys.get("L0") == keys["L0"]]
    # The latest by time (ties: the first, as history is newest first); without times, the first.
    if same and all(decisions[i].when for i in same):
        latest: int | None = max(same, key=lambda i: decisions[i].when)  # type: ignore[arg-type, return-value]
    else:
        latest = same[0] if same else None
    # The agent level's answers by kind (L2 key), for a request of a kind never answered.
    kinds: dict[str, dict[str, float]] = {}
    for index, decision in enumerate(decisions):
        w = _weight(decision.when, now)
        for level in LEVELS:
            if decision.keys.get(level) == keys[level]:
                boost = LAST_ANSWER_WEIGHT if level == "L0" and index == latest else 1.0
                weights[level][decision.option] += w * boost
                counts[level][decision.option] += 1
        if decision.keys.get("L3") == keys["L3"]:
            kind = kinds.setdefault(decision.keys.get("L2", ""), dict.fromkeys(choices, 0.0))
            kind[decision.option] += w
    if not any(counts["L3"].values()):
        return []
    if not any(counts["L2"].values()):
        weights["L3"] = _kinds_mean(kinds=kinds, choices=choices)
    estimate = {o: 1.0 / len(choices) for o in choices}
    for level in reversed(LEVELS):
        total = sum(weights[level].values())
        estimate = {
            o: (weights[level][o] + PRIOR_STRENGTH * estimate[o]) / (total + PRIOR_STRENGTH)
            for o in choices
        }
    cap_levels = CAP_LEVELS_COMMAND if _command_of(tool) else CAP_LEVELS_OTHER
    novel = not any(sum(counts[level].values()) for level in cap_levels)
    candidates = []
    for option in choices:
        per_level = {lv: (counts[lv][option], sum(counts[lv].values())) for lv in LEVELS}
        cap = (
            NOVEL_CAP
            if novel
            else max(
                (_share(weights[lv], option) * n + CAP_PRIOR) / (n + 2 * CAP_PRIOR)
                for lv, (_, n) in per_level.items()
                if lv in cap_levels and n
            )
        )
        confidence = min(estimate[option], cap)
        candidates.append(
            StructuredCandidate(
                text=option,
                confidence=round(max(0.0, min(1.0, confidence)), 4),
                evidence_cap=round(cap, 4),
                reasoning=_reasoning(option, per_level, tool, novel),
                counts=per_level,
            )
        )
    order = {o: i for i, o in enumerate(choices)}
    candidates.sort(key=lambda c: (-c.confidence, order[c.text]))
    return candidates[: max(0, k)]


def _kinds_mean(*, kinds: dict[str, dict[str, float]], choices: Sequence[str]) -> dict[str, float]:
    """The agent level's weights for a kind of request the person never answered: each kind
    they did answer (``kinds``: its weight per option) is one piece of evidence of their policy,
    its share of each option weighed by ``W / (W + PRIOR_STRENGTH)``, ``W`` the kind's own
    weight."""
    mean = dict.fromkeys(choices, 0.0)
    for kind in kinds.values():
        total = sum(kind.values())
        if total > 0:
            for option in choices:
                mean[option] += kind[option] / (total + PRIOR_STRENGTH)
    return mean


def _share(weights: dict[str, float], option: str) -> float:
    """The option's share of a level's weight (recency and session included)."""
    total = sum(weights.values())
    return weights[option] / total if total > 0 else 0.0


def _verb(option: str) -> str:
    return {"yes": "approved", "no": "refused"}.get(option.lower(), f'answered "{option}" to')


def _reasoning(
    option: str, per_level: dict[str, tuple[int, int]], tool: dict[str, Any] | None, novel: bool
) -> str:
    subject = _subject(tool)
    name = str((tool or {}).get("name") or "")
    described = {
        "L0": f"`{subject}`" if subject else (f"this {name} request" if name else "this question"),
        "L1": "similar requests",
        "L2": f"{name} requests" if name else "this question",
        "L3": "requests from this agent",
    }
    parts = []
    for level in LEVELS:
        agree, n = per_level[level]
        if n:
            parts.append(f"{_verb(option)} {described[level]} {agree} of {n} times")
    text = "You " + "; ".join(parts[:2]) + "." if parts else "No past decision bears on this."
    if novel:
        text += " Never seen this kind of request: low confidence."
    return text


def similar_decisions(
    *,
    agent: str,
    text: str,
    tool: dict[str, Any] | None,
    history: Sequence[dict[str, Any]],
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The past answered prompts on the same request, then the same command head / path prefix /
    host, then the same tool (L0, L1, L2), each level in ``history``'s order; at most ``limit``."""
    if limit <= 0:
        return []
    wanted = request_keys(agent=agent, tool=tool, text=text)
    levels = [(name, wanted[name]) for name in ("L0", "L1", "L2")]
    ranked = []
    same = 0
    for index, item in enumerate(history):
        if not isinstance(item, dict):
            continue
        item_tool = item.get("tool") if isinstance(item.get("tool"), dict) else None
        keys = request_keys(
            agent=str(item.get("agent") or ""), tool=item_tool, text=str(item.get("prompt") or "")
        )
        for level, (name, key) in enumerate(levels):
            if keys[name] == key:
                ranked.append((level, index, item))
                same += level == 0
                break
        if same >= limit:  # as many of the very same request as wanted: nothing ranks above
            break
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [item for _, _, item in ranked[:limit]]
