import createClient from "openapi-fetch";
import { authFetch } from "./auth";
import type { paths } from "./schema";

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  fetch: authFetch,
});

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an ApiFailure carrying the server's error code and message. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch {
    throw new ApiFailure("The server cannot be reached.", "network", 0);
  }
  if (result.response.ok) return result.data as T;
  const body = result.error as { error?: { code?: string; message?: string } } | undefined;
  throw new ApiFailure(
    body?.error?.message ?? `The server answered ${result.response.status}.`,
    body?.error?.code ?? "http_error",
    result.response.status,
  );
}
