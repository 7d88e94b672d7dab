import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SettingsForm, type UserSettings } from "../screens/Settings";

const stored: UserSettings = {
  agent_thresholds: { "claude-code": 0.9 },
  never_auto: ["rm -rf*"],
  never_auto_is_default: true,
  audit_rate: 0.2,
  audit_rate_is_default: false,
  headless_answering: false,
};

describe("SettingsForm", () => {
  const fetchMock = vi.fn();
  const sent: unknown[] = [];
  beforeEach(() => {
    sent.length = 0;
    fetchMock.mockReset();
    fetchMock.mockImplementation(async (request: Request) => {
      const patch = await request.json();
      sent.push(patch);
      // The server's answer: null returns the audit rate to its default (0.05).
      const next = { ...stored, ...patch };
      if (patch.audit_rate === null) Object.assign(next, { audit_rate: 0.05, audit_rate_is_default: true });
      if ("never_auto" in patch) next.never_auto_is_default = false;
      return new Response(JSON.stringify({ body: "", updated_at: null, calibration: {}, ...next }), { status: 200 });
    });
    vi.stubGlobal("fetch", fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("resets the audit rate to the server's default with audit_rate: null", async () => {
    render(<SettingsForm initial={stored} />);
    const reset = screen.getByRole("button", { name: "Reset audit rate to the server's default" }) as HTMLButtonElement;
    expect(reset.disabled).toBe(false);
    fireEvent.click(reset);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("reset to the server's default"));
    expect(sent).toEqual([{ audit_rate: null }]);
    const request = fetchMock.mock.calls[0][0] as Request;
    expect(request.url).toContain("/api/memory/profile/");
    expect(request.method).toBe("PATCH");
    expect((screen.getByLabelText(/Audit rate/) as HTMLInputElement).value).toBe("0.05");
    expect(screen.getByText(/the server's default\)/)).toBeTruthy();
    expect(reset.disabled).toBe(true);
  });

  it("sends only what changed, so a default is never pinned by saving something else", async () => {
    render(<SettingsForm initial={{ ...stored, audit_rate: 0.05, audit_rate_is_default: true }} />);
    fireEvent.change(screen.getByLabelText(/Threshold per agent/), { target: { value: "claude-code=0.95" } });
    fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Saved."));
    expect(sent).toEqual([{ agent_thresholds: { "claude-code": 0.95 } }]);
  });

  it("an emptied audit rate is a reset too; nothing changed sends nothing", async () => {
    render(<SettingsForm initial={stored} />);
    fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Nothing changed."));
    expect(fetchMock).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText(/Audit rate/), { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(sent).toEqual([{ audit_rate: null }]));
  });
});
