import { useState } from "react";
import { authFetch } from "../api/auth";
import { api, ApiFailure, unwrap } from "../api/client";
import { ErrorNote, Section } from "../components/ui";

export function Data({ username }: { username: string }) {
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState("");
  const [deleted, setDeleted] = useState<Record<string, number> | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  return (
    <main id="main">
      <h1>Your data</h1>
      <div className="grid">
        <Section title="Export">
          <p>Everything Clone holds about you, as one JSON file.</p>
          <button
            type="button"
            disabled={exporting}
            onClick={async () => {
              setExporting(true);
              setExportError(null);
              try {
                const response = await authFetch(new Request(`${window.location.origin}/api/account/export/`));
                if (!response.ok) throw new Error(`The server answered ${response.status}.`);
                const name = response.headers.get("Content-Disposition")?.match(/filename="([^"]+)"/)?.[1] ?? "clone-export.json";
                const url = URL.createObjectURL(await response.blob());
                const link = document.createElement("a");
                link.href = url;
                link.download = name;
                link.click();
                setTimeout(() => URL.revokeObjectURL(url), 10_000);
              } catch (failure) {
                setExportError(failure instanceof Error ? failure.message : String(failure));
              } finally {
                setExporting(false);
              }
            }}
          >
            {exporting ? "Preparing…" : "Download export"}
          </button>
          {exportError && <ErrorNote message={exportError} />}
        </Section>
        <Section title="Delete everything">
          <p>
            Deletes every event, memory, fact and prediction Clone holds about you. Your account and API keys stay. This cannot be undone.
          </p>
          <form
            onSubmit={async (event) => {
              event.preventDefault();
              setDeleteError(null);
              try {
                const result = await unwrap(api.DELETE("/api/account/data/"));
                setDeleted(result.deleted);
                setConfirm("");
              } catch (failure) {
                setDeleteError(failure instanceof ApiFailure ? failure.message : String(failure));
              }
            }}
          >
            <label>
              Type your username, <strong>{username}</strong>, to confirm
              <input value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="off" />
            </label>
            <button type="submit" className="danger" disabled={confirm !== username || !username}>
              Delete all my data
            </button>
          </form>
          {deleted && (
            <p role="status" className="ok">
              Deleted: {Object.entries(deleted).map(([table, n]) => `${table} ${n}`).join(", ")}.
            </p>
          )}
          {deleteError && <ErrorNote message={deleteError} />}
        </Section>
      </div>
    </main>
  );
}
