"""The prediction-shaped request Clone sends to the model, and the schema its answer must match."""

import json
from typing import Any

SYSTEM_PROMPT = """\
You are Clone: you answer AI agents' questions the way one specific person would.
You are given what Clone remembers about this person: a profile, facts (each with an id), recent
episodes, recent raw activity, and the replies they gave to earlier, similar agent prompts.
Predict the replies this person would most likely give to the agent's prompt.

Rules:
- Write each candidate reply exactly as the person would type it: their wording, length and tone.
- The person's own past answers to similar prompts are the strongest evidence; facts next.
- confidence is your probability (0 to 1) that the person would accept the reply as their own.
  Be honest: low when the history does not settle it.
- cited_facts lists the ids of the facts the candidate relies on (only ids shown to you).
- Return the candidates best first, through the tool, and nothing else."""


MAX_CANDIDATES = 10

# One schema for every k: the tool definition heads the cached prompt prefix, so it must not vary
# between the items of a batch. Extra candidates beyond k are simply dropped.
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["candidates"],
    "additionalProperties": False,
    "properties": {
        "candidates": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CANDIDATES,
            "items": {
                "type": "object",
                "required": ["text", "reasoning", "confidence", "cited_facts"],
                "additionalProperties": False,
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 4000},
                    "reasoning": {"type": "string", "maxLength": 4000},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "cited_facts": {"type": "array", "items": {"type": "integer"}},
                },
            },
        }
    },
}


def shared_context(bundle: dict[str, Any]) -> str:
    """The part of the bundle every prompt of a batch shares (cacheable)."""
    facts = "\n".join(
        f"- [fact {f['id']}] ({f['kind']}, importance {f['importance']:.2f}) {f['text']}"
        for f in bundle["facts"]
    )
    episodes = "\n".join(
        f"- {e['started_at']} to {e['ended_at']}: {e['title']}: {e['summary']}"
        for e in bundle["episodes"]
    )
    raw = "\n".join(f"- {r['occurred_at']}: {r['text']}" for r in bundle["raw"])
    return (
        f"<profile>\n{bundle['profile']['body'] or '(empty)'}\n</profile>\n"
        f"<facts>\n{facts or '(none)'}\n</facts>\n"
        f"<episodes>\n{episodes or '(none)'}\n</episodes>\n"
        f"<recent_activity>\n{raw or '(none)'}\n</recent_activity>"
    )


def question_message(
    *,
    agent: str,
    agent_input: str,
    relevant: list[dict[str, Any]],
    k: int,
    tool: dict[str, Any] | None = None,
    options: list[str] | None = None,
    context: str | None = None,
    decisions: list[dict[str, Any]] | None = None,
    session: list[dict[str, Any]] | None = None,
) -> str:
    """The per-request part of the prompt (after the cached shared context): similar past
    prompts, or the person's decisions on similar requests when given (then the past prompts
    only if there are any), what they answered earlier in this session, the structured request,
    its options and the agent's context."""
    past = "\n".join(
        json.dumps({"agent": r["agent"], "prompt": r["prompt"], "reply": r["reply"]})
        for r in relevant
    )
    parts = []
    if past or not decisions:
        parts.append(f"<similar_past_prompts>\n{past or '(none)'}\n</similar_past_prompts>")
    if decisions:
        lines = "\n".join(
            json.dumps({"tool": d.get("tool"), "reply": d.get("reply"), "at": d.get("occurred_at")})
            for d in decisions
        )
        parts.append(f"<decisions_on_similar_requests>\n{lines}\n</decisions_on_similar_requests>")
    if session:
        lines = "\n".join(
            json.dumps({"prompt": d.get("prompt"), "reply": d.get("reply")}) for d in session
        )
        parts.append(f"<earlier_in_this_session>\n{lines}\n</earlier_in_this_session>")
    if context:
        parts.append(f"<agent_context>\n{context}\n</agent_context>")
    parts.append(f"The agent {json.dumps(agent)} now asks:\n<prompt>\n{agent_input}\n</prompt>")
    if tool:
        parts.append(f"<request>\n{json.dumps(tool, sort_keys=True)}\n</request>")
    if options:
        parts.append(
            f"<options>\n{json.dumps(list(options))}\n</options>\n"
            "Answer with one of these options, exactly as written."
        )
    parts.append(f"Give up to {k} candidate replies, best first.")
    return "\n".join(parts)
