import type { Prediction } from "../api/types";

/** The structured request an agent sent with its question: tool, command or path, options. */
export function RequestDetails({ prediction }: { prediction: Prediction }) {
  const { tool, cwd, context, options } = prediction;
  const input = tool?.input ?? {};
  const command = typeof input.command === "string" ? input.command : null;
  const path = typeof input.file_path === "string" ? input.file_path : typeof input.path === "string" ? input.path : null;
  if (!tool?.name && !cwd && !context && !options?.length) return null;
  return (
    <dl className="request">
      {tool?.name && (
        <>
          <dt>Tool</dt>
          <dd>{tool.name}</dd>
        </>
      )}
      {command && (
        <>
          <dt>Command</dt>
          <dd>
            <code>{command}</code>
          </dd>
        </>
      )}
      {path && (
        <>
          <dt>Path</dt>
          <dd>
            <code>{path}</code>
          </dd>
        </>
      )}
      {cwd && (
        <>
          <dt>In</dt>
          <dd>
            <code>{cwd}</code>
          </dd>
        </>
      )}
      {context && (
        <>
          <dt>Context</dt>
          <dd className="pre">{context}</dd>
        </>
      )}
      {options?.length ? (
        <>
          <dt>Options</dt>
          <dd>{options.join(" / ")}</dd>
        </>
      ) : null}
    </dl>
  );
}
