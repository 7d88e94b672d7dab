import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

function jwt(claims: object) {
  const part = btoa(JSON.stringify(claims)).replace(/=+$/, "");
  return `e30.${part}.sig`;
}
const now = () => Math.floor(Date.now() / 1000);
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("auth", () => {
  let auth: typeof import("../api/auth");
  const fetchMock = vi.fn();

  beforeEach(async () => {
    vi.resetModules();
    vi.useFakeTimers({ shouldAdvanceTime: true });
    fetchMock.mockReset();
    vi.stubGlobal("fetch", fetchMock);
    auth = await import("../api/auth");
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("signs in with the cookie transport and keeps the access token only in memory", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { access: jwt({ iat: now(), exp: now() + 3600, username: "ada" }) }));
    expect(await auth.signIn("ada", "pw")).toBeNull();
    const [, init] = fetchMock.mock.calls[0];
    expect(init.headers["X-Clone-Token-Transport"]).toBe("cookie");
    expect(auth.authState()).toEqual({ status: "signed-in", username: "ada" });
    expect(auth.accessToken()).toMatch(/^e30\./);
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it("shows the server's message for bad credentials", async () => {
    fetchMock.mockResolvedValueOnce(json(401, { error: { code: "no_active_account", message: "No active account." } }));
    expect(await auth.signIn("ada", "bad")).toBe("No active account.");
    expect(auth.authState().status).toBe("unknown");
  });

  it("refreshes at five sixths of the token's life", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { access: jwt({ iat: now(), exp: now() + 60 }) }));
    await auth.signIn("ada", "pw");
    fetchMock.mockResolvedValueOnce(json(200, { access: jwt({ iat: now(), exp: now() + 60 }) }));
    await vi.advanceTimersByTimeAsync(49_000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(String(fetchMock.mock.calls[1][0])).toContain("/api/auth/token/refresh/");
  });

  it("retries a 401 once after one refresh, even for two calls at once", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { access: jwt({ iat: now(), exp: now() + 3600 }) }));
    await auth.signIn("ada", "pw");
    const fresh = jwt({ iat: now(), exp: now() + 3600, fresh: true });
    fetchMock.mockImplementation(async (input: Request | string) => {
      const url = typeof input === "string" ? input : input.url;
      if (url.includes("/token/refresh/")) return json(200, { access: fresh });
      return json((input as Request).headers.get("Authorization") === `Bearer ${fresh}` ? 200 : 401, {});
    });
    const [a, b] = await Promise.all([
      auth.authFetch(new Request("http://localhost/api/x/")),
      auth.authFetch(new Request("http://localhost/api/y/")),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const refreshes = fetchMock.mock.calls.filter((c) => String((c[0] as Request).url ?? c[0]).includes("refresh"));
    expect(refreshes).toHaveLength(1);
  });

  it("a failed refresh ends the session as expired, keeping the username", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { access: jwt({ iat: now(), exp: now() + 3600, username: "ada" }) }));
    await auth.signIn("ada", "pw");
    fetchMock.mockResolvedValue(json(401, { error: { code: "token_not_valid", message: "expired" } }));
    const response = await auth.authFetch(new Request("http://localhost/api/x/"));
    expect(response.status).toBe(401);
    expect(auth.authState()).toEqual({ status: "expired", username: "ada" });
    expect(auth.accessToken()).toBeNull();
  });
});
