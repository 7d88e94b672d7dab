// Sign-in state. The access token lives in this module's memory only; the refresh token is an
// HttpOnly cookie the server sets on its refresh path, which no script here can read.
export type AuthStatus = "unknown" | "signed-in" | "signed-out" | "expired";
export type AuthState = { status: AuthStatus; username: string | null };

const TRANSPORT = { "X-Clone-Token-Transport": "cookie", "Content-Type": "application/json" };
const TOKEN_URL = "/api/auth/token/";
const REFRESH_URL = "/api/auth/token/refresh/";
const REVOKE_URL = "/api/auth/token/refresh/revoke/";
// Refresh when this share of the access token's life has passed (50 of 60 minutes).
const REFRESH_AT = 5 / 6;

let access: string | null = null;
let state: AuthState = { status: "unknown", username: null };
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<boolean> | null = null;
const listeners = new Set<(s: AuthState) => void>();

function claims(token: string): { exp?: number; iat?: number; username?: string } {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

function publish(next: AuthState) {
  state = next;
  for (const listener of listeners) listener(state);
}

function accept(token: string) {
  access = token;
  const { exp, iat, username } = claims(token);
  clearTimeout(timer);
  if (exp && iat && exp > iat) {
    timer = setTimeout(() => void refresh(), (exp - iat) * REFRESH_AT * 1000);
  }
  publish({ status: "signed-in", username: username ?? state.username });
}

export function authState(): AuthState {
  return state;
}

export function subscribe(listener: (s: AuthState) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function accessToken(): string | null {
  return access;
}

export async function signIn(username: string, password: string): Promise<string | null> {
  let response: Response;
  try {
    response = await fetch(TOKEN_URL, {
      method: "POST",
      headers: TRANSPORT,
      credentials: "same-origin",
      body: JSON.stringify({ username, password }),
    });
  } catch {
    return "The server cannot be reached.";
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || !body?.access) {
    return body?.error?.message ?? `Sign-in failed (${response.status}).`;
  }
  accept(body.access);
  return null;
}

/** One refresh at a time: the server rotates the cookie, so two at once would race. */
export function refresh(): Promise<boolean> {
  inflight ??= (async () => {
    try {
      const response = await fetch(REFRESH_URL, {
        method: "POST",
        headers: TRANSPORT,
        credentials: "same-origin",
        body: "{}",
      });
      const body = await response.json().catch(() => null);
      if (response.ok && body?.access) {
        accept(body.access);
        return true;
      }
    } catch {
      // Unreachable server: treated as expired; the person signs in again.
    }
    expire();
    return false;
  })().finally(() => {
    inflight = null;
  });
  return inflight;
}

/** The session ended underneath the person: ask them to sign in again, keeping the screen. */
export function expire() {
  access = null;
  clearTimeout(timer);
  publish({ status: state.status === "unknown" ? "signed-out" : "expired", username: state.username });
}

export async function signOut() {
  clearTimeout(timer);
  access = null;
  await fetch(REVOKE_URL, {
    method: "POST",
    headers: TRANSPORT,
    credentials: "same-origin",
    body: "{}",
  }).catch(() => undefined);
  publish({ status: "signed-out", username: null });
}

/** fetch with the access token; a 401 is retried once after a refresh. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const withToken = (request: Request) => {
    if (access) request.headers.set("Authorization", `Bearer ${access}`);
    return fetch(request);
  };
  const response = await withToken(input);
  if (response.status !== 401) return response;
  if (await refresh()) return withToken(retry);
  return response;
}
