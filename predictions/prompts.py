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
    *, agent: str, agent_input: str, relevant: list[dict[str, Any]], k: int
) -> str:
    past = "\n".join(
        json.dumps({"agent": r["agent"], "prompt": r["prompt"], "reply": r["reply"]})
        for r in relevant
    )
    return (
        f"<similar_past_prompts>\n{past or '(none)'}\n</similar_past_prompts>\n"
        f"The agent {json.dumps(agent)} now asks:\n<prompt>\n{agent_input}\n</prompt>\n"
        f"Give up to {k} candidate replies, best first."
    )
