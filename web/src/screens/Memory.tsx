import { useState } from "react";
import { api, ApiFailure, unwrap } from "../api/client";
import type { Fact } from "../api/types";
import { Async, Empty, ErrorNote, Section } from "../components/ui";
import { checkEvent, noteEvent } from "../lib/events";
import { num, when } from "../lib/format";
import { useLoad } from "../lib/useLoad";

function message(failure: unknown) {
  return failure instanceof ApiFailure ? failure.message : String(failure);
}

function Profile() {
  const load = useLoad(() => unwrap(api.GET("/api/memory/profile/")), "profile");
  const [draft, setDraft] = useState<string | null>(null);
  const [state, setState] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Profile">
      <Async load={load} what="the profile">
        {(profile) => (
          <form
            onSubmit={async (event) => {
              event.preventDefault();
              setError(null);
              try {
                await unwrap(api.PUT("/api/memory/profile/", { body: { body: draft ?? profile.body } }));
                setState("Saved.");
                setDraft(null);
                load.reload();
              } catch (failure) {
                setError(message(failure));
              }
            }}
          >
            <label>
              What Clone should know about you
              <textarea rows={5} value={draft ?? profile.body} onChange={(e) => { setDraft(e.target.value); setState(null); }} />
            </label>
            <div className="row">
              <button type="submit" disabled={draft === null}>
                Save profile
              </button>
              <span className="muted">Updated {when(profile.updated_at)}</span>
              {state && <span role="status">{state}</span>}
            </div>
            {error && <ErrorNote message={error} />}
          </form>
        )}
      </Async>
    </Section>
  );
}

function FactRow({ fact, onChanged }: { fact: Fact; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(fact.text);
  const [importance, setImportance] = useState(String(fact.importance ?? 0.5));
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { fact_id: fact.id } } };
  if (editing)
    return (
      <li className="fact">
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            try {
              await unwrap(api.PATCH("/api/memory/facts/{fact_id}/", { ...path, body: { text, importance: Number(importance) } }));
              setEditing(false);
              onChanged();
            } catch (failure) {
              setError(message(failure));
            }
          }}
        >
          <label>
            Fact
            <input value={text} onChange={(e) => setText(e.target.value)} />
          </label>
          <label>
            Importance (0–1)
            <input type="number" min="0" max="1" step="0.05" value={importance} onChange={(e) => setImportance(e.target.value)} />
          </label>
          <button type="submit">Save fact</button>
          <button type="button" className="quiet" onClick={() => setEditing(false)}>
            Cancel
          </button>
          {error && <ErrorNote message={error} />}
        </form>
      </li>
    );
  return (
    <li className="fact">
      <meter min={0} max={1} value={fact.importance ?? 0} aria-label={`Importance ${num(fact.importance, 2)}`} />
      <span className="fact-text">{fact.text}</span>
      <span className="muted small">
        {fact.kind} · {num(fact.importance, 2)}
      </span>
      <span className="actions">
        <button type="button" className="quiet" aria-label={`Edit fact: ${fact.text}`} onClick={() => setEditing(true)}>
          Edit
        </button>
        <button
          type="button"
          className="quiet danger"
          aria-label={`Delete fact: ${fact.text}`}
          onClick={async () => {
            if (!window.confirm(`Delete this fact?\n\n${fact.text}`)) return;
            try {
              await unwrap(api.DELETE("/api/memory/facts/{fact_id}/", path));
              onChanged();
            } catch (failure) {
              setError(message(failure));
            }
          }}
        >
          Delete
        </button>
      </span>
      {error && <ErrorNote message={error} />}
    </li>
  );
}

function Facts() {
  const load = useLoad(() => unwrap(api.GET("/api/memory/facts/", { params: { query: { page_size: 100 } as never } })), "facts");
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Facts">
      <form
        className="row"
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            await unwrap(api.POST("/api/memory/facts/", { body: { text, kind: "stated", importance: 0.7 } }));
            setText("");
            load.reload();
          } catch (failure) {
            setError(message(failure));
          }
        }}
      >
        <label className="grow">
          New fact
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. Always use pnpm, never npm." required />
        </label>
        <button type="submit">Add fact</button>
      </form>
      {error && <ErrorNote message={error} />}
      <Async load={load} what="facts">
        {(page) =>
          page.results.length === 0 ? (
            <Empty>No facts yet. Add one above, or let Clone learn them from what it records.</Empty>
          ) : (
            <ul className="facts" aria-label="Facts by importance">
              {page.results.map((fact) => (
                <FactRow key={`${fact.id}-${fact.updated_at}`} fact={fact} onChanged={load.reload} />
              ))}
            </ul>
          )
        }
      </Async>
    </Section>
  );
}

function Note() {
  const [text, setText] = useState("");
  const [state, setState] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Remember something">
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          const check = checkEvent(noteEvent(text));
          if (!check.ok) {
            setError(`Not sent: ${check.errors.join("; ")}`);
            return;
          }
          try {
            await unwrap(api.POST("/api/recording/events/", { body: check.event as never }));
            setText("");
            setState("Recorded as a note.");
          } catch (failure) {
            setError(message(failure));
          }
        }}
      >
        <label>
          A note for Clone (recorded as a note event)
          <textarea rows={2} value={text} onChange={(e) => { setText(e.target.value); setState(null); }} />
        </label>
        <button type="submit">Record note</button>
        {state && <span role="status"> {state}</span>}
        {error && <ErrorNote message={error} />}
      </form>
    </Section>
  );
}

function Episodes() {
  const load = useLoad(() => unwrap(api.GET("/api/memory/episodes/")), "episodes");
  return (
    <Section title="Episodes">
      <Async load={load} what="episodes">
        {(page) =>
          page.results.length === 0 ? (
            <Empty>No episodes yet: Clone groups what it records into episodes as sessions end.</Empty>
          ) : (
            <ul className="plain">
              {page.results.slice(0, 5).map((e) => (
                <li key={e.id}>
                  <strong>{e.title}</strong> <span className="muted small">{when(e.started_at)}</span>
                  <p className="clamp">{e.summary}</p>
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </Section>
  );
}

const KINDS = ["", "agent_prompt", "user_reply", "terminal_turn", "desktop_frame", "integration_webhook", "note"];

function Recordings() {
  const [kind, setKind] = useState("");
  const load = useLoad(() => unwrap(api.GET("/api/memory/raw/", { params: { query: { kind: kind || undefined } as never } })), `raw-${kind}`);
  return (
    <Section title="Recently recorded">
      <label>
        Kind
        <select value={kind} onChange={(e) => setKind(e.target.value)}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k ? k.replace(/_/g, " ") : "all kinds"}
            </option>
          ))}
        </select>
      </label>
      <Async load={load} what="recordings">
        {(page) =>
          page.results.length === 0 ? (
            <Empty>Nothing recorded{kind ? " of this kind" : ""} yet. The CLI and the agent hooks record as you work.</Empty>
          ) : (
            <>
              <p className="muted small">{page.count} recorded{kind ? ` of kind ${kind.replace(/_/g, " ")}` : ""}</p>
              <ul className="plain raw">
                {page.results.slice(0, 20).map((r) => (
                  <li key={r.id}>
                    <span className="badge">{r.kind.replace(/_/g, " ")}</span> <span className="muted small">{when(r.occurred_at)}</span>
                    <div className="clip">{r.text}</div>
                  </li>
                ))}
              </ul>
            </>
          )
        }
      </Async>
    </Section>
  );
}

export function Memory() {
  return (
    <main id="main">
      <h1>Memory</h1>
      <div className="grid">
        <Profile />
        <Facts />
        <Note />
        <Episodes />
        <Recordings />
      </div>
    </main>
  );
}
