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
  headless_answering: boolean;
};

function SettingsForm({ initial, onSaved }: { initial: UserSettings; onSaved: () => void }) {
  const [thresholds, setThresholds] = useState(
    Object.entries(initial.agent_thresholds ?? {})
      .map(([agent, t]) => `${agent}=${t}`)
      .join("\n"),
  );
  const [neverAuto, setNeverAuto] = useState((initial.never_auto ?? []).join("\n"));
  const [auditRate, setAuditRate] = useState(String(initial.audit_rate ?? ""));
  const [headless, setHeadless] = useState(Boolean(initial.headless_answering));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  return (
    <form
      onSubmit={async (event) => {
        event.preventDefault();
        setError(null);
        const settings = {
          agent_thresholds: Object.fromEntries(
            thresholds
              .split("\n")
              .map((line) => line.split("=").map((s) => s.trim()))
              .filter(([agent, value]) => agent && value)
              .map(([agent, value]) => [agent, Number(value)]),
          ),
          never_auto: neverAuto.split("\n").map((s) => s.trim()).filter(Boolean),
          audit_rate: auditRate === "" ? null : Number(auditRate),
          headless_answering: headless,
        };
        try {
          await unwrap(api.PATCH("/api/memory/profile/", { body: settings }));
          setSaved(true);
          onSaved();
        } catch (failure) {
          setError(failure instanceof ApiFailure ? failure.message : String(failure));
        }
      }}
    >
      <label>
        Threshold per agent (one <code>agent=0.9</code> a line)
        <textarea rows={3} value={thresholds} onChange={(e) => setThresholds(e.target.value)} />
      </label>
      <label>
        Never answer automatically (one pattern a line{initial.never_auto_is_default ? "; the defaults" : ""})
        <textarea rows={4} value={neverAuto} onChange={(e) => setNeverAuto(e.target.value)} />
      </label>
      <label>
        Audit rate (share of automatic answers asked anyway)
        <input type="number" min="0" max="1" step="0.01" value={auditRate} onChange={(e) => setAuditRate(e.target.value)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={headless} onChange={(e) => setHeadless(e.target.checked)} />
        Answer headless agents (PreToolUse) on my behalf
      </label>
      <button type="submit">Save settings</button>
      {saved && <span role="status"> Saved.</span>}
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
          return <SettingsForm initial={profile as UserSettings} onSaved={load.reload} />;
        }}
      </Async>
    </Section>
  );
}
