import type { CloneEvent } from "../../../schema/events";
import { validate } from "../generated/validateEvent.js";

export type EventCheck = { ok: true; event: CloneEvent } | { ok: false; errors: string[] };

/** Checks an event against schema/events.schema.json (the server's own schema) before sending. */
export function checkEvent(event: unknown): EventCheck {
  if (validate(event)) return { ok: true, event: event as CloneEvent };
  const errors = (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath || "event"} ${e.message ?? "is invalid"}`);
  return { ok: false, errors };
}

export function noteEvent(text: string, now = new Date()): unknown {
  return {
    id: `web-${now.getTime().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    session_id: `web-notes-${now.toISOString().slice(0, 10)}`,
    kind: "note",
    occurred_at: now.toISOString(),
    source: "web",
    payload: { text },
  };
}
