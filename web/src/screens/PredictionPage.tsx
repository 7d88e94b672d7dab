import { api, ApiFailure, unwrap } from "../api/client";
import type { Fact, Prediction } from "../api/types";
import { RequestDetails } from "../components/RequestDetails";
import { Async, Empty, Link, Section } from "../components/ui";
import { pct, when } from "../lib/format";
import { useLoad } from "../lib/useLoad";

async function citedFacts(ids: number[]): Promise<(Fact | { id: number; gone: true })[]> {
  return Promise.all(
    ids.map((fact_id) =>
      unwrap(api.GET("/api/memory/facts/{fact_id}/", { params: { path: { fact_id } } })).catch((failure) => {
        if (failure instanceof ApiFailure && failure.status === 404) return { id: fact_id, gone: true as const };
        throw failure;
      }),
    ),
  );
}

export function PredictionPage({ id }: { id: number }) {
  const load = useLoad(
    () => unwrap(api.GET("/api/predictions/{prediction_id}/", { params: { path: { prediction_id: id } } })) as Promise<Prediction>,
    `prediction-${id}`,
  );
  const facts = useLoad(
    async () => (load.data ? citedFacts(load.data.cited_facts) : []),
    `facts-${id}-${load.data ? "ready" : "waiting"}`,
  );
  const context = useLoad(
    async () =>
      load.data
        ? ((await unwrap(api.POST("/api/memory/context/", { body: { agent_input: load.data.agent_input } }))) as Record<string, unknown>)
        : null,
    `context-${id}-${load.data ? "ready" : "waiting"}`,
  );
  return (
    <main id="main">
      <p>
        <Link to="/activity">← Activity</Link>
      </p>
      <Async load={load} what="this prediction">
        {(p) => (
          <>
            <h1>{p.agent_input}</h1>
            <p className="meta">
              <span className="badge">{p.agent}</span>
              <span className={`badge ${p.status}`}>{p.status === "auto" ? "answered by Clone" : "asked you"}</span>
              {p.escalation_reason && <span className="badge muted">{p.escalation_reason.replace(/_/g, " ")}</span>}
              <span className="muted">
                {when(p.created_at)} · confidence {pct(p.confidence)} (raw {pct(p.raw_confidence)}) at threshold {pct(p.threshold)}
              </span>
            </p>
            <RequestDetails prediction={p} />
            <Section title="Outcome">
              {p.outcome ? (
                <p>
                  <strong>{p.outcome}</strong>
                  {p.actual_reply ? <> — you replied “{p.actual_reply}”</> : null} {p.feedback_at && <span className="muted">({when(p.feedback_at)})</span>}
                </p>
              ) : (
                <p>No answer yet{p.status === "escalated" ? ": it is in your inbox." : "."}</p>
              )}
            </Section>
            <Section title="Candidates and why">
              <ol className="plain">
                {p.candidates.map((c, i) => (
                  <li key={i}>
                    <strong>{c.text}</strong> <span className="muted">{pct(c.confidence)}</span>
                    <p>{c.reasoning}</p>
                  </li>
                ))}
              </ol>
            </Section>
            <Section title="Facts Clone cited">
              <Async load={facts} what="the cited facts">
                {(list) =>
                  list.length === 0 ? (
                    <Empty>Clone cited no fact for this answer.</Empty>
                  ) : (
                    <ul className="plain">
                      {list.map((f) => ("gone" in f ? <li key={f.id} className="muted">Fact {f.id} (deleted since)</li> : <li key={f.id}>{f.text}</li>))}
                    </ul>
                  )
                }
              </Async>
            </Section>
            <Section title="Relevant past answers">
              <p className="muted">What Clone's memory holds for this question now.</p>
              <Async load={context} what="the relevant past answers">
                {(bundle) => <RelevantReplies bundle={bundle} />}
              </Async>
            </Section>
          </>
        )}
      </Async>
    </main>
  );
}

function RelevantReplies({ bundle }: { bundle: Record<string, unknown> | null }) {
  const relevant = (bundle?.relevant_replies ?? bundle?.relevant ?? []) as { prompt?: string; reply?: string; text?: string }[];
  if (!relevant.length) return <Empty>No earlier answer looks like this question.</Empty>;
  return (
    <ul className="plain">
      {relevant.map((r, i) => (
        <li key={i}>
          <span className="muted">{r.prompt}</span> → <strong>{r.reply ?? r.text}</strong>
        </li>
      ))}
    </ul>
  );
}
