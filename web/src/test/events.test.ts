import { describe, expect, it } from "vitest";
import { checkEvent, noteEvent } from "../lib/events";

describe("events validated against schema/events.schema.json", () => {
  it("accepts the note event the Memory screen sends", () => {
    const check = checkEvent(noteEvent("Prefers pnpm", new Date("2026-12-02T10:00:00Z")));
    expect(check.ok).toBe(true);
  });

  it("rejects an empty note, naming the field", () => {
    const check = checkEvent(noteEvent(""));
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.errors.join(" ")).toContain("/payload/text");
  });

  it.each([
    ["unknown kind", { kind: "tweet" }],
    ["time without offset", { occurred_at: "2026-12-02T10:00:00" }],
    ["extra property", { extra: 1 }],
    ["bad id", { id: "has space" }],
  ])("rejects %s", (_name, change) => {
    expect(checkEvent({ ...(noteEvent("x") as object), ...change }).ok).toBe(false);
  });
});
