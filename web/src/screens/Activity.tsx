import { useState } from "react";
import { api, unwrap } from "../api/client";
import type { Prediction } from "../api/types";
import { Async, Empty, Link } from "../components/ui";
import { pct, when } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type Status = "" | "auto" | "escalated";

export function Activity() {
  const [agent, setAgent] = useState("");
  const [status, setStatus] = useState<Status>("");
  const [page, setPage] = useState(1);
  const key = `${agent}|${status}|${page}`;
  const load = useLoad(
    () =>
      unwrap(
        api.GET("/api/predictions/", {
          params: { query: { agent: agent || undefined, status: status || undefined, page } },
        }),
      ),
    key,
  );
  return (
    <main id="main">
      <h1>Activity</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Agent
          <input
            value={agent}
            placeholder="any"
            onChange={(e) => {
              setAgent(e.target.value.trim());
              setPage(1);
            }}
          />
        </label>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as Status);
              setPage(1);
            }}
          >
            <option value="">any</option>
            <option value="auto">answered by Clone</option>
            <option value="escalated">asked you</option>
          </select>
        </label>
      </form>
      <Async load={load} what="recent predictions">
        {(data) =>
          data.results.length === 0 ? (
            <Empty>
              <p>No predictions{agent || status ? " match these filters" : " yet"}.</p>
              <p>
                Agents ask Clone through the API or the hooks on the <Link to="/connect">Connect</Link> page.
              </p>
            </Empty>
          ) : (
            <>
              <table className="list">
                <caption className="muted">
                  {data.count} predictions, newest first
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Question</th>
                    <th scope="col">Agent</th>
                    <th scope="col">How</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Confidence</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  {data.results.map((p: Prediction) => (
                    <tr key={p.id}>
                      <td>
                        <Link to={`/predictions/${p.id}`}>{p.agent_input}</Link>
                      </td>
                      <td>{p.agent}</td>
                      <td>
                        <span className={`badge ${p.status}`}>{p.status === "auto" ? "automatic" : "asked"}</span>
                      </td>
                      <td>{p.outcome || "waiting"}</td>
                      <td>{pct(p.confidence)}</td>
                      <td>{when(p.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <nav className="pager" aria-label="Pages">
                <button type="button" disabled={!data.previous} onClick={() => setPage(page - 1)}>
                  Newer
                </button>
                <span>Page {page}</span>
                <button type="button" disabled={!data.next} onClick={() => setPage(page + 1)}>
                  Older
                </button>
              </nav>
            </>
          )
        }
      </Async>
    </main>
  );
}
