import { useState } from "react";
import { authFetch } from "../api/auth";
import { api, ApiFailure, unwrap } from "../api/client";
import { Async, Empty, ErrorNote, Section } from "../components/ui";
import { when } from "../lib/format";
import { useLoad } from "../lib/useLoad";

function Copy({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="quiet"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone(true);
        } catch {
          setDone(false);
        }
      }}
    >
      {done ? "Copied" : "Copy"}
    </button>
  );
}

function Snippet({ title, text }: { title: string; text: string }) {
  return (
    <div className="snippet">
      <div className="row">
        <strong>{title}</strong>
        <Copy text={text} label={`Copy ${title}`} />
      </div>
      <pre tabIndex={0} aria-label={title}>
        <code>{text}</code>
      </pre>
    </div>
  );
}

function ApiKeys() {
  const load = useLoad(() => unwrap(api.GET("/api/auth/api-keys/")), "keys");
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fail = (failure: unknown) => setError(failure instanceof ApiFailure ? failure.message : String(failure));
  return (
    <Section title="API keys">
      <form
        className="row"
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            const key = await unwrap(api.POST("/api/auth/api-keys/", { body: { name } }));
            setCreated({ name: key.name, key: key.key });
            setName("");
            load.reload();
          } catch (failure) {
            fail(failure);
          }
        }}
      >
        <label className="grow">
          Key name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="laptop" required />
        </label>
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div className="ok" role="status">
          <p>
            Key “{created.name}” — shown once, copy it now:
          </p>
          <div className="row">
            <code className="secret" data-testid="new-key">
              {created.key}
            </code>
            <Copy text={created.key} label="Copy the new key" />
          </div>
        </div>
      )}
      {error && <ErrorNote message={error} />}
      <Async load={load} what="API keys">
        {(page) =>
          page.results.length === 0 ? (
            <Empty>No API keys. Create one for the CLI, the hooks or an MCP agent.</Empty>
          ) : (
            <ul className="plain keys">
              {page.results.map((k) => (
                <li key={k.id} className="row">
                  <span className="grow">
                    <strong>{k.name}</strong> <code>{k.prefix}…</code>{" "}
                    <span className="muted small">
                      created {when(k.created_at)} · last used {when(k.last_used_at)}
                    </span>
                  </span>
                  <button
                    type="button"
                    className="quiet danger"
                    aria-label={`Revoke key ${k.name}`}
                    onClick={async () => {
                      if (!window.confirm(`Revoke the key “${k.name}”? Anything using it stops working.`)) return;
                      try {
                        await unwrap(api.DELETE("/api/auth/api-keys/{key_id}/", { params: { path: { key_id: k.id } } }));
                        load.reload();
                      } catch (failure) {
                        fail(failure);
                      }
                    }}
                  >
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </Section>
  );
}

type Rule = { rule: string; count?: number; approved?: number; [k: string]: unknown };

function SuggestedRules() {
  const load = useLoad(async () => {
    const response = await authFetch(new Request(`${window.location.origin}/api/integrations/claude-code/suggested-rules/`));
    if (response.status === 404) return null;
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiFailure(body?.error?.message ?? `The server answered ${response.status}.`, body?.error?.code ?? "http_error", response.status);
    return body as { results?: Rule[]; rules?: Rule[] };
  }, "rules");
  return (
    <Section title="Suggested rules for Claude Code">
      <Async load={load} what="the suggested rules">
        {(body) => {
          if (body === null) return <Empty>This server does not suggest rules yet.</Empty>;
          const rules = body.results ?? body.rules ?? [];
          if (!rules.length) return <Empty>No rule to suggest yet: Clone suggests one once you have approved the same request every time, often enough.</Empty>;
          return (
            <>
              <p className="muted">Add these to the <code>permissions.allow</code> list of <code>.claude/settings.json</code>:</p>
              <ul className="plain">
                {rules.map((r) => (
                  <li key={r.rule}>
                    <code>{r.rule}</code> <span className="muted small">{r.count ?? r.approved ?? ""}</span>
                  </li>
                ))}
              </ul>
            </>
          );
        }}
      </Async>
    </Section>
  );
}

type SetupAgent = "claude-code" | "codex" | "gemini" | "cursor";

/** The hooks configuration, as the server builds it for this agent (the same one
 * `clone hooks install` merges): nothing about an agent's hooks is decided in the browser. */
function AgentSetup({ agent, scope }: { agent: SetupAgent; scope: string }) {
  const load = useLoad(
    () => unwrap(api.GET("/api/integrations/{agent}/setup/", { params: { path: { agent } } })),
    `setup-${agent}`,
  );
  return (
    <Async load={load} what={`the ${agent} hooks`}>
      {(setup) => {
        const path = setup.paths[scope] ?? Object.values(setup.paths)[0];
        return (
          <>
            <Snippet title={`${setup.name}: ${path} hooks`} text={setup.text} />
            {setup.notes.map((note) => (
              <p key={note} className="muted small">
                {note}
              </p>
            ))}
          </>
        );
      }}
    </Async>
  );
}

export function Connect({ username }: { username: string }) {
  const origin = window.location.origin;
  const login = `clone login --url ${origin} --username ${username}`;
  const mcp = JSON.stringify({ mcpServers: { clone: { command: "clone", args: ["mcp"] } } }, null, 2);
  return (
    <main id="main">
      <h1>Connect</h1>
      <div className="grid">
        <ApiKeys />
        <Section title="Claude Code">
          <Snippet title="Claude Code with the CLI" text={`${login}\nclone hooks install claude-code`} />
          <AgentSetup agent="claude-code" scope="project" />
        </Section>
        <Section title="Codex CLI, Gemini CLI, Cursor">
          <Snippet
            title="Codex CLI, Gemini CLI, Cursor with the CLI"
            text={`${login}\nclone hooks install codex     # Codex CLI\nclone hooks install gemini    # Gemini CLI\nclone hooks install cursor    # Cursor`}
          />
          <AgentSetup agent="codex" scope="user" />
          <AgentSetup agent="gemini" scope="project" />
          <AgentSetup agent="cursor" scope="user" />
        </Section>
        <Section title="MCP agents">
          <Snippet title="Claude Code MCP" text="claude mcp add clone -- clone mcp" />
          <Snippet title="MCP config for other clients" text={mcp} />
        </Section>
        <SuggestedRules />
      </div>
    </main>
  );
}
