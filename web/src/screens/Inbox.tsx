import { useEffect, useRef, useState } from "react";
import { api, ApiFailure, unwrap } from "../api/client";
import type { Page, Prediction } from "../api/types";
import { RequestDetails } from "../components/RequestDetails";
import { Async, Empty, ErrorNote, Link } from "../components/ui";
import { pct } from "../lib/format";
import { useLoad } from "../lib/useLoad";

export function fetchInbox(): Promise<Page<Prediction>> {
  return unwrap(api.GET("/api/predictions/inbox/"));
}

export function answer(id: number, reply: string): Promise<Prediction> {
  return unwrap(api.POST("/api/predictions/{prediction_id}/answer/", { params: { path: { prediction_id: id } }, body: { reply } }));
}

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function InboxList({
  items,
  onAnswered,
}: {
  items: Prediction[];
  onAnswered: (answered: Prediction) => void;
}) {
  const [selected, setSelected] = useState(0);
  const [drafts, setDrafts] = useState<Record<number, string>>({});
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const replyRefs = useRef<Record<number, HTMLTextAreaElement | null>>({});
  const itemRefs = useRef<Record<number, HTMLElement | null>>({});
  const current = items[Math.min(selected, items.length - 1)];

  async function send(item: Prediction, reply: string) {
    if (!reply.trim()) {
      setError("Type a reply or pick a candidate.");
      return;
    }
    setBusy(item.id);
    setError(null);
    try {
      const answered = await answer(item.id, reply);
      setDrafts(({ [item.id]: _, ...rest }) => rest);
      onAnswered(answered);
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    } finally {
      setBusy(null);
    }
  }

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (isTyping(event.target) || event.metaKey || event.ctrlKey || event.altKey || !current) return;
      if (event.key === "j" || event.key === "k") {
        event.preventDefault();
        const next = Math.max(0, Math.min(items.length - 1, selected + (event.key === "j" ? 1 : -1)));
        setSelected(next);
        itemRefs.current[items[next].id]?.focus();
      } else if (["1", "2", "3"].includes(event.key)) {
        const candidate = current.candidates[Number(event.key) - 1];
        if (candidate) {
          event.preventDefault();
          void send(current, candidate.text);
        }
      } else if (event.key === "/") {
        event.preventDefault();
        replyRefs.current[current.id]?.focus();
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <>
      {error && <ErrorNote message={error} />}
      <ol className="inbox" aria-label="Questions waiting for you">
        {items.map((item, index) => (
          <li
            key={item.id}
            ref={(el) => {
              itemRefs.current[item.id] = el;
            }}
            tabIndex={-1}
            aria-current={item === current ? "true" : undefined}
            className={item === current ? "card selected" : "card"}
            onClick={() => setSelected(index)}
          >
            <div className="meta">
              <span className="badge">{item.agent}</span>
              {item.escalation_reason && <span className="badge muted">{item.escalation_reason.replace(/_/g, " ")}</span>}
              <Link to={`/predictions/${item.id}`}>details</Link>
            </div>
            <p className="question">{item.agent_input}</p>
            <RequestDetails prediction={item} />
            <div className="candidates" role="group" aria-label={`Clone's candidates for question ${index + 1}`}>
              {item.candidates.slice(0, 3).map((candidate, i) => (
                <button
                  key={i}
                  type="button"
                  disabled={busy === item.id}
                  onClick={() => void send(item, candidate.text)}
                  title={candidate.reasoning}
                >
                  <kbd>{i + 1}</kbd> {candidate.text} <span className="muted">{pct(candidate.confidence)}</span>
                </button>
              ))}
            </div>
            {item.candidates[0]?.reasoning && <p className="muted reasoning">{item.candidates[0].reasoning}</p>}
            <form
              className="reply"
              onSubmit={(event) => {
                event.preventDefault();
                void send(item, drafts[item.id] ?? "");
              }}
            >
              <label>
                Your reply
                <textarea
                  ref={(el) => {
                    replyRefs.current[item.id] = el;
                  }}
                  rows={2}
                  value={drafts[item.id] ?? ""}
                  onChange={(e) => setDrafts({ ...drafts, [item.id]: e.target.value })}
                  onFocus={() => setSelected(index)}
                />
              </label>
              <button type="submit" disabled={busy === item.id}>
                Send
              </button>
            </form>
          </li>
        ))}
      </ol>
    </>
  );
}

export function Inbox() {
  const load = useLoad(fetchInbox, "inbox");
  const [answered, setAnswered] = useState<Prediction[]>([]);
  const answeredIds = new Set(answered.map((p) => p.id));
  return (
    <main id="main">
      <h1>Inbox</h1>
      <p className="muted hint">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>1</kbd>–<kbd>3</kbd> pick a candidate, <kbd>/</kbd> type a reply.
      </p>
      {answered.length > 0 && (
        <p role="status" className="ok">
          Answered {answered.length}: last labelled “{answered[0].outcome ?? "recorded"}”.
        </p>
      )}
      <Async load={load} what="the inbox">
        {(page) => {
          const items = page.results.filter((p) => !answeredIds.has(p.id));
          if (!items.length)
            return (
              <Empty>
                <p>Nothing is waiting for you.</p>
                <p>
                  When Clone is not sure enough to answer an agent on its own, the question lands here. Connect an agent on the{" "}
                  <Link to="/connect">Connect</Link> page, or see what Clone answered in <Link to="/activity">Activity</Link>.
                </p>
              </Empty>
            );
          return <InboxList items={items} onAnswered={(p) => setAnswered((list) => [p, ...list])} />;
        }}
      </Async>
    </main>
  );
}
