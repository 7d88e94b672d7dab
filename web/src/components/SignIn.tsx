import { useState } from "react";
import { signIn } from "../api/auth";

export function SignIn({ expired, username }: { expired: boolean; username: string | null }) {
  const [name, setName] = useState(username ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const form = (
    <form
      className="signin"
      aria-labelledby="signin-heading"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(await signIn(name, password));
        setBusy(false);
      }}
    >
      <h1 id="signin-heading">{expired ? "Your session ended" : "Sign in to Clone"}</h1>
      {expired && <p>Sign in again to carry on: what you typed on the page is kept.</p>}
      <label>
        Username
        <input autoComplete="username" value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
  if (!expired) return <main className="signin-page">{form}</main>;
  return (
    <div className="overlay">
      <div role="dialog" aria-modal="true" aria-labelledby="signin-heading" className="dialog">
        {form}
      </div>
    </div>
  );
}
