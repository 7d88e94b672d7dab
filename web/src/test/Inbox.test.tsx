import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Prediction } from "../api/types";
import { InboxList } from "../screens/Inbox";

function item(id: number, question: string, candidates: string[]): Prediction {
  return {
    id,
    status: "escalated",
    confidence: 0.6,
    raw_confidence: 0.6,
    candidates: candidates.map((text, i) => ({ text, reasoning: `because ${text}`, confidence: 0.6 - i / 10, raw_confidence: 0.6, cited_facts: [] })),
    cited_facts: [],
    threshold: 0.8,
    k: 3,
    agent: "claude-code",
    agent_input: question,
    model: "local",
    usage: {},
    created_at: "2026-12-02T10:00:00Z",
    tool: { name: "Bash", input: { command: "npm test" } },
    options: null,
    prompt_event_id: null,
    answered_by: "",
    answer: null,
    escalation_reason: "below_threshold",
  };
}

describe("InboxList", () => {
  const fetchMock = vi.fn();
  beforeEach(() => {
    fetchMock.mockReset();
    fetchMock.mockImplementation(async (request: Request) => {
      const body = await request.json();
      return new Response(JSON.stringify({ ...item(1, "q", []), outcome: "accepted", actual_reply: body.reply }), { status: 200 });
    });
    vi.stubGlobal("fetch", fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  const items = [item(1, "Run the tests?", ["yes", "no"]), item(2, "Push to main?", ["no, open a PR", "yes"])];

  it("shows the question, the structured request and the candidates with confidence", () => {
    render(<InboxList items={items} onAnswered={() => {}} />);
    expect(screen.getByText("Run the tests?")).toBeTruthy();
    expect(screen.getAllByText("npm test")).toHaveLength(2);
    expect(screen.getByRole("button", { name: "1 yes 60%" })).toBeTruthy();
    expect(screen.getAllByText("below threshold")).toHaveLength(2);
  });

  it("j moves to the next question and 1 answers it with its first candidate", async () => {
    const onAnswered = vi.fn();
    render(<InboxList items={items} onAnswered={onAnswered} />);
    fireEvent.keyDown(window, { key: "j" });
    expect(screen.getByText("Push to main?").closest("li")?.getAttribute("aria-current")).toBe("true");
    fireEvent.keyDown(window, { key: "1" });
    await waitFor(() => expect(onAnswered).toHaveBeenCalled());
    const request = fetchMock.mock.calls[0][0] as Request;
    expect(request.url).toContain("/api/predictions/2/answer/");
    expect(request.method).toBe("POST");
  });

  it("k does not move above the first question", () => {
    render(<InboxList items={items} onAnswered={() => {}} />);
    fireEvent.keyDown(window, { key: "k" });
    expect(screen.getByText("Run the tests?").closest("li")?.getAttribute("aria-current")).toBe("true");
  });

  it("/ focuses the reply box, and keys typed there are text, not shortcuts", () => {
    render(<InboxList items={items} onAnswered={() => {}} />);
    fireEvent.keyDown(window, { key: "/" });
    const box = screen.getAllByLabelText("Your reply")[0];
    expect(document.activeElement).toBe(box);
    fireEvent.keyDown(box, { key: "1" });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("an empty typed reply is not sent", () => {
    render(<InboxList items={items} onAnswered={() => {}} />);
    fireEvent.click(screen.getAllByRole("button", { name: "Send" })[0]);
    expect(screen.getByRole("alert").textContent).toContain("Type a reply");
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("a server error is shown, and the question stays", async () => {
    fetchMock.mockResolvedValueOnce(new Response(JSON.stringify({ error: { code: "invalid_request", message: "Reply is empty." } }), { status: 400 }));
    const onAnswered = vi.fn();
    render(<InboxList items={items} onAnswered={onAnswered} />);
    fireEvent.click(screen.getByRole("button", { name: "1 yes 60%" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Reply is empty."));
    expect(onAnswered).not.toHaveBeenCalled();
  });
});
