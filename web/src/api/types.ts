import type { components } from "./schema";

type S = components["schemas"];

// Fields the agent-request work adds to predictions; optional so older servers still render.
export type AgentRequest = {
  tool?: { name?: string; input?: Record<string, unknown> } | null;
  options?: string[] | null;
  cwd?: string | null;
  context?: string | null;
  escalation_reason?: string | null;
  answered_at?: string | null;
  answered_by?: string | null;
};
export type Prediction = S["PredictionOutput"] & AgentRequest;
export type Fact = S["FactOutput"];
export type Episode = S["EpisodeOutput"];
export type Raw = S["RawOutput"];
export type ApiKey = S["ApiKeyOutput"];
export type Page<T> = { count: number; next?: string | null; previous?: string | null; results: T[] };
