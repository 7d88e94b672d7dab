import { useState } from "react";
import { api, ApiFailure, unwrap } from "../api/client";
import { Async, Empty, ErrorNote, Section } from "../components/ui";
import { useLoad } from "../lib/useLoad";

// The person's settings live on the profile API (GET/PATCH /api/memory/profile/).
export type UserSettings = {
  agent_thresholds: Record<string, number>;
  never_auto: string[];
  never_auto_is_default: boolean;
  audit_rate: number;
  audit_rate_is_default: boolean;
  headless_answering: boolean;
};

type Patch = {
  agent_thresholds?: Record<string, number>;
  never_auto?: string[];
  audit_rate?: number | null;
  headless_answering?: boolean;
};

const thresholdsText = (t: Record<string, number>) =>
  Object.entries(t ?? {})
    .map(([agent, value]) => `${agent}=${value}`)
    .join("\n");

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function SettingsForm({ initial }: { initial: UserSettings }) {
  // What the server holds now: the form sends only what differs from it, so saving one
  // setting never turns a server default into a value of the person's own.
  const [base, setBase] = useState(initial);
  const [thresholds, setThresholds] = useState(thresholdsText(initial.agent_thresholds));
  const [neverAuto, setNeverAuto] = useState((initial.never_auto ?? []).join("\n"));
  const [auditRate, setAuditRate] = useState(String(initial.audit_rate ?? ""));
  const [headless, setHeadless] = useState(Boolean(initial.headless_answering));
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const show = (saved: UserSettings) => {
    setBase(saved);
    setThresholds(thresholdsText(saved.agent_thresholds));
    setNeverAuto((saved.never_auto ?? []).join("\n"));
    setAuditRate(String(saved.audit_rate ?? ""));
    setHeadless(Boolean(saved.headless_answering));
  };

  const send = async (patch: Patch, done: string) => {
    setError(null);
    setStatus(null);
    if (!Object.keys(patch).length) {
      setStatus("Nothing changed.");
      return;
    }
    try {
      const saved = await unwrap(api.PATCH("/api/memory/profile/", { body: patch }));
      show(saved as UserSettings);
      setStatus(done);
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    }
  };

  return (
    <form
      onSubmit={async (event) => {
        event.preventDefault();
        const patch: Patch = {};
        const parsed = Object.fromEntries(
          thresholds
            .split("\n")
            .map((line) => line.split("=").map((s) => s.trim()))
            .filter(([agent, value]) => agent && value)
            .map(([agent, value]) => [agent, Number(value)]),
        );
        if (!same(parsed, base.agent_thresholds ?? {})) patch.agent_thresholds = parsed;
        const patterns = neverAuto.split("\n").map((s) => s.trim()).filter(Boolean);
        if (!same(patterns, base.never_auto ?? [])) patch.never_auto = patterns;
        // An emptied field also returns the audit rate to the server's default.
        if (auditRate.trim() === "") {
          if (!base.audit_rate_is_default) patch.audit_rate = null;
        } else if (Number(auditRate) !== base.audit_rate) patch.audit_rate = Number(auditRate);
        if (headless !== Boolean(base.headless_answering)) patch.headless_answering = headless;
        await send(patch, "Saved.");
      }}
    >
      <label>
        Threshold per agent (one <code>agent=0.9</code> a line)
        <textarea rows={3} value={thresholds} onChange={(e) => setThresholds(e.target.value)} />
      </label>
      <label>
        Never answer automatically (one pattern a line{base.never_auto_is_default ? "; the defaults" : ""})
        <textarea rows={4} value={neverAuto} onChange={(e) => setNeverAuto(e.target.value)} />
      </label>
      <div className="row">
        <label className="grow">
          Audit rate (share of automatic answers asked anyway{base.audit_rate_is_default ? "; the server's default" : ""})
          <input type="number" min="0" max="1" step="0.01" value={auditRate} onChange={(e) => setAuditRate(e.target.value)} />
        </label>
        <button
          type="button"
          className="quiet"
          disabled={base.audit_rate_is_default}
          onClick={() => send({ audit_rate: null }, "Audit rate reset to the server's default.")}
        >
          Reset audit rate to the server's default
        </button>
      </div>
      <label className="check">
        <input type="checkbox" checked={headless} onChange={(e) => setHeadless(e.target.checked)} />
        Answer headless agents (PreToolUse) on my behalf
      </label>
      <button type="submit">Save settings</button>
      {status && <span role="status"> {status}</span>}
      {error && <ErrorNote message={error} />}
    </form>
  );
}

export function Settings() {
  const load = useLoad(() => unwrap(api.GET("/api/memory/profile/")), "profile-settings");
  return (
    <Section title="Settings">
      <Async load={load} what="your settings">
        {(profile) => {
          if (!("never_auto" in profile)) return <Empty>This server does not offer per-person answering settings yet.</Empty>;
          return <SettingsForm initial={profile as UserSettings} />;
        }}
      </Async>
    </Section>
  );
}
