// Draws figures the server computed; nothing here computes a statistic.
type Bin = { bin: number; lower: number; upper: number; count: number; mean_confidence: number | null; mean_label: number | null };
type Point = { threshold: number; coverage: number | null; precision: number | null; n_auto: number };

const W = 320;
const H = 240;
const PAD = 36;
const x = (v: number) => PAD + v * (W - PAD * 1.5);
const y = (v: number) => H - PAD - v * (H - PAD * 1.5);

function Axes({ xLabel, yLabel }: { xLabel: string; yLabel: string }) {
  return (
    <g className="axes">
      <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(0)} />
      <line x1={x(0)} y1={y(0)} x2={x(0)} y2={y(1)} />
      {[0, 0.5, 1].map((t) => (
        <g key={t}>
          <text x={x(t)} y={y(0) + 14} textAnchor="middle">
            {t}
          </text>
          <text x={x(0) - 6} y={y(t) + 4} textAnchor="end">
            {t}
          </text>
        </g>
      ))}
      <text x={x(0.5)} y={H - 4} textAnchor="middle">
        {xLabel}
      </text>
      <text x={10} y={y(0.5)} textAnchor="middle" transform={`rotate(-90 10 ${y(0.5)})`}>
        {yLabel}
      </text>
    </g>
  );
}

function polyline(bins: Bin[]): string {
  return bins
    .filter((b) => b.count > 0 && b.mean_confidence !== null && b.mean_label !== null)
    .map((b) => `${x(b.mean_confidence!)},${y(b.mean_label!)}`)
    .join(" ");
}

export function ReliabilityDiagram({ raw, calibrated }: { raw: Bin[]; calibrated: Bin[] }) {
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="reliability-title">
        <title id="reliability-title">Reliability diagram: mean outcome against mean confidence per bin, raw and calibrated</title>
        <Axes xLabel="confidence" yLabel="how often right" />
        <line className="diagonal" x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} />
        <polyline className="series raw" points={polyline(raw)} />
        <polyline className="series calibrated" points={polyline(calibrated)} />
        {calibrated.map((b) =>
          b.count && b.mean_confidence !== null && b.mean_label !== null ? (
            <circle key={`c${b.bin}`} className="dot calibrated" cx={x(b.mean_confidence)} cy={y(b.mean_label)} r={3 + Math.min(5, Math.log2(b.count + 1))} />
          ) : null,
        )}
        {raw.map((b) =>
          b.count && b.mean_confidence !== null && b.mean_label !== null ? (
            <rect key={`r${b.bin}`} className="dot raw" x={x(b.mean_confidence) - 3} y={y(b.mean_label) - 3} width={6} height={6} />
          ) : null,
        )}
      </svg>
      <figcaption>
        <span className="key calibrated">● calibrated</span> <span className="key raw">■ raw</span> <span className="muted">— diagonal: perfectly honest</span>
      </figcaption>
    </figure>
  );
}

export function CoverageChart({ points, threshold, agents = {} }: { points: Point[]; threshold: number; agents?: Record<string, number> }) {
  const line = (pick: (p: Point) => number | null) =>
    points
      .filter((p) => pick(p) !== null)
      .map((p) => `${x(p.threshold)},${y(pick(p)!)}`)
      .join(" ");
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="coverage-title">
        <title id="coverage-title">Coverage and precision of automatic answers at each threshold; your threshold is marked</title>
        <Axes xLabel="threshold" yLabel="share" />
        <polyline className="series coverage" points={line((p) => p.coverage)} />
        <polyline className="series precision" points={line((p) => p.precision)} />
        <line className="threshold" x1={x(threshold)} y1={y(0)} x2={x(threshold)} y2={y(1)} />
        <text className="threshold-label" x={x(threshold) + 4} y={y(1) + 10}>
          yours {threshold}
        </text>
        {Object.entries(agents).map(([agent, t], i) => (
          <g key={agent}>
            <line className="threshold agent" x1={x(t)} y1={y(0)} x2={x(t)} y2={y(1)} />
            <text className="threshold-label" x={x(t) + 4} y={y(1) + 22 + 12 * i}>
              {agent} {t}
            </text>
          </g>
        ))}
      </svg>
      <figcaption>
        <span className="key coverage">— coverage</span> <span className="key precision">— precision</span>
      </figcaption>
    </figure>
  );
}
