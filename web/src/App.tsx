import { useEffect, useState } from "react";
import { authState, refresh, signOut, subscribe, type AuthState } from "./api/auth";
import { SignIn } from "./components/SignIn";
import { Link } from "./components/ui";
import { useLocation } from "./lib/router";
import { Activity } from "./screens/Activity";
import { Connect } from "./screens/Connect";
import { Data } from "./screens/Data";
import { Inbox } from "./screens/Inbox";
import { Memory } from "./screens/Memory";
import { PredictionPage } from "./screens/PredictionPage";
import { Trust } from "./screens/Trust";

const NAV = [
  ["/", "Inbox"],
  ["/activity", "Activity"],
  ["/memory", "Memory"],
  ["/trust", "Trust"],
  ["/connect", "Connect"],
  ["/data", "Data"],
] as const;

function useAuth(): AuthState {
  const [state, setState] = useState(authState());
  useEffect(() => subscribe(setState), []);
  return state;
}

function Screen({ path, username }: { path: string; username: string }) {
  const prediction = path.match(/^\/predictions\/(\d+)\/?$/);
  if (prediction) return <PredictionPage id={Number(prediction[1])} />;
  switch (path.replace(/\/$/, "") || "/") {
    case "/":
    case "/inbox":
      return <Inbox />;
    case "/activity":
      return <Activity />;
    case "/memory":
      return <Memory />;
    case "/trust":
      return <Trust />;
    case "/connect":
      return <Connect username={username} />;
    case "/data":
      return <Data username={username} />;
    default:
      return (
        <main id="main">
          <h1>Not found</h1>
          <p>
            No page at {path}. <Link to="/">Go to the inbox</Link>.
          </p>
        </main>
      );
  }
}

export function App() {
  const auth = useAuth();
  const { path } = useLocation();

  useEffect(() => {
    // A reload keeps the session: the cookie is still there, the access token is not.
    if (authState().status === "unknown") void refresh();
  }, []);

  if (auth.status === "unknown") return <p role="status">Loading Clone…</p>;
  if (auth.status === "signed-out") return <SignIn expired={false} username={null} />;
  const current = NAV.find(([to]) => (to === "/" ? path === "/" || path === "/inbox" : path.startsWith(to)))?.[0];
  return (
    <>
      <header className="top">
        <span className="brand">Clone</span>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} className={current === to ? "active" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span className="who">{auth.username}</span>
        <button type="button" className="quiet" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <div inert={auth.status === "expired" ? true : undefined}>
        <Screen path={path} username={auth.username ?? ""} />
      </div>
      {auth.status === "expired" && <SignIn expired username={auth.username} />}
    </>
  );
}
