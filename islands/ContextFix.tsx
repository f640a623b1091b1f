/**
 * The one-click fix in a failed run's error panel. For `reload`/`load`: LM Studio loads the model
 * with the context the failed step needed (progress shown), then the run resumes at that step
 * (`POST /api/research/{id}/resume` with `{reload}`), keeping everything already written. For
 * `shorten` (even the model's maximum is too small): a quick run on the same question.
 */
import { useState } from "preact/hooks";
import type { ModelAction } from "../lib/providers/types.ts";
import { api, type ApiError } from "./api.ts";
import { LoadProgress } from "./LoadProgress.tsx";
import { loadModel, type LoadUpdate } from "./model_load.ts";

/** Props: the run, the action from its error, and the original request (for a shorter run). */
export interface ContextFixProps {
  id: string;
  action: ModelAction;
  request?: Record<string, unknown>;
}

/** The fix button with its progress and failure text. */
export function ContextFix({ id, action, request }: ContextFixProps) {
  const [update, setUpdate] = useState<LoadUpdate | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function reload() {
    if (action.type === "shorten") return;
    setBusy(true);
    setError(null);
    const end = await loadModel(action.model, action.contextLength, setUpdate);
    if (end.type === "error") {
      setError(end.error);
      setBusy(false);
      return;
    }
    const res = await api("POST", `/api/research/${encodeURIComponent(id)}/resume`, {
      reload: { model: action.model, contextLength: end.contextLength },
    });
    if (!res.ok) {
      setError(res.error);
      setBusy(false);
      return;
    }
    // The run continues under the same id: the page follows it from its kept events.
    location.reload();
  }

  async function shorter() {
    setBusy(true);
    const res = await api<{ id: string }>("POST", "/api/research", {
      ...(request ?? {}),
      mode: "quick",
    });
    if (res.ok) location.href = `/research/${encodeURIComponent(res.data.id)}`;
    else {
      setError(res.error);
      setBusy(false);
    }
  }

  return (
    <div class="context-fix">
      {action.type === "shorten"
        ? (
          <button
            type="button"
            class="context-fix-go"
            disabled={busy || !request}
            onClick={shorter}
          >
            Run a quick research on the same question
          </button>
        )
        : (
          <button type="button" class="context-fix-go" disabled={busy} onClick={reload}>
            {action.label}
          </button>
        )}
      {busy && update && update.type !== "done" && update.type !== "error" && (
        <LoadProgress update={update} />
      )}
      {error && (
        <p class="err" role="alert">
          {error.title ? `${error.title}: ` : ""}
          {error.message} {error.hint ?? ""}
        </p>
      )}
    </div>
  );
}
