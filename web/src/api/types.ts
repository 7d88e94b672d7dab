import type { components } from "./schema";

type S = components["schemas"];

export type Prediction = S["PredictionOutput"];
export type Fact = S["FactOutput"];
export type Episode = S["EpisodeOutput"];
export type Raw = S["RawOutput"];
export type ApiKey = S["ApiKeyOutput"];
export type Page<T> = { count: number; next?: string | null; previous?: string | null; results: T[] };
