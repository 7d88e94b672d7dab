import { api, unwrap } from "../api/client";
import { CoverageChart, ReliabilityDiagram } from "../components/Charts";
import { Async, Empty, Section } from "../components/ui";
import { num, pct } from "../lib/format";
import { useLoad } from "../lib/useLoad";
import { Settings } from "./Settings";

type Audited = { n: number; precision: number | null; interval: [number, number] | null };

export function Trust() {
  const stats = useLoad(() => unwrap(api.GET("/api/predictions/stats/")), "stats");
  const trust = useLoad(() => unwrap(api.GET("/api/predictions/stats/trust/")), "trust");
  return (
    <main id="main">
      <h1>Trust</h1>
      <div className="grid">
        <Section title="How honest Clone's confidence is">
          <Async load={stats} what="the figures">
            {(s) => {
              const audited = (s as { audited_precision?: Audited }).audited_precision;
              return (
                <dl className="figures">
                  <dt>Labelled predictions</dt>
                  <dd>{s.labelled}</dd>
                  <dt>Accepted (mean label)</dt>
                  <dd>{pct(s.acceptance_rate, 1)}</dd>
                  <dt>Brier score (calibrated / raw)</dt>
                  <dd>
                    {num(s.brier.calibrated)} / {num(s.brier.raw)}
                  </dd>
                  <dt>ECE (calibrated / raw)</dt>
                  <dd>
                    {num(s.ece.calibrated)} / {num(s.ece.raw)}
                  </dd>
                  <dt>Precision of automatic answers</dt>
                  <dd>{pct(s.auto_precision, 1)}</dd>
                  <dt>Audited precision</dt>
                  <dd>
                    {audited ? (
                      <>
                        {pct(audited.precision, 1)} <span className="muted">of {audited.n} audited</span>
                        {audited.interval && (
                          <span className="muted">
                            {" "}
                            (95% interval {pct(audited.interval[0], 1)}–{pct(audited.interval[1], 1)})
                          </span>
                        )}
                      </>
                    ) : (
                      <span className="muted">not reported by this server</span>
                    )}
                  </dd>
                  <dt>Calibration</dt>
                  <dd>
                    {s.calibration.method} <span className="muted">on {s.calibration.n} labels</span>
                  </dd>
                </dl>
              );
            }}
          </Async>
        </Section>
        <Async load={trust} what="the reliability diagram">
          {(t) =>
            t.labelled === 0 ? (
              <Section title="Reliability">
                <Empty>No labelled predictions yet: answer a few questions in the inbox and the diagrams fill in.</Empty>
              </Section>
            ) : (
              <>
                <Section title="Reliability">
                  <ReliabilityDiagram raw={t.reliability.raw} calibrated={t.reliability.calibrated} />
                  <table className="list compact">
                    <caption className="muted">Per bin: predictions and how often they were right</caption>
                    <thead>
                      <tr>
                        <th scope="col">Confidence</th>
                        <th scope="col">Calibrated n</th>
                        <th scope="col">right</th>
                        <th scope="col">Raw n</th>
                        <th scope="col">right</th>
                      </tr>
                    </thead>
                    <tbody>
                      {t.reliability.calibrated.map((b, i) => (
                        <tr key={b.bin}>
                          <td>
                            {b.lower.toFixed(1)}–{b.upper.toFixed(1)}
                          </td>
                          <td>{b.count}</td>
                          <td>{pct(b.mean_label)}</td>
                          <td>{t.reliability.raw[i].count}</td>
                          <td>{pct(t.reliability.raw[i].mean_label)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </Section>
                <Section title="Coverage vs precision">
                  <CoverageChart points={t.coverage} threshold={t.threshold} agents={t.agent_thresholds} />
                  <table className="list compact">
                    <caption className="muted">At each threshold: share Clone would answer on its own, and how often right</caption>
                    <thead>
                      <tr>
                        <th scope="col">Threshold</th>
                        <th scope="col">Coverage</th>
                        <th scope="col">Precision</th>
                        <th scope="col">n</th>
                      </tr>
                    </thead>
                    <tbody>
                      {t.coverage.map((p) => (
                        <tr key={p.threshold} className={p.threshold === t.threshold || Object.values(t.agent_thresholds).includes(p.threshold) ? "mark" : undefined}>
                          <th scope="row">
                            {p.threshold}
                            {p.threshold === t.threshold ? " (yours)" : ""}
                            {Object.entries(t.agent_thresholds)
                              .filter(([, v]) => v === p.threshold)
                              .map(([agent]) => ` (${agent})`)
                              .join("")}
                          </th>
                          <td>{pct(p.coverage)}</td>
                          <td>{pct(p.precision)}</td>
                          <td>{p.n_auto}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </Section>
              </>
            )
          }
        </Async>
        <Settings />
      </div>
    </main>
  );
}
