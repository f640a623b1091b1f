/**
 * The Research form's warning before a run that will not fit the loaded context (pre-flight), or
 * that LM Studio cannot serve until the model is loaded (JIT off): what is wrong, the one-click
 * fix (load or reload with the size the run needs, then start), and "start anyway".
 */
import { useState } from "preact/hooks";
import type { ModelAction } from "../lib/providers/types.ts";
import type { ApiError } from "./api.ts";
import { LoadProgress } from "./LoadProgress.tsx";
import { loadModel, type LoadUpdate } from "./model_load.ts";

/** What the note shows: the pre-flight verdict or a refusal carrying an action. */
export interface PreflightNoteProps {
  message: string;
  hint?: string;
  action?: ModelAction;
  /** False when the run cannot start before the fix (a model LM Studio will not serve). */
  canStartAnyway: boolean;
  /** Starts the run (after the fix, or anyway); `quick` for the shorter-run offer. */
  onStart(opts?: { quick?: boolean }): void;
  onDismiss(): void;
}

/** The warning with its actions. */
export function PreflightNote(props: PreflightNoteProps) {
  const { action } = props;
  const [update, setUpdate] = useState<LoadUpdate | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const busy = update !== null && update.type !== "done" && update.type !== "error";

  async function fix() {
    if (!action || action.type === "shorten") return;
    setError(null);
    setUpdate({
      type: "start",
      model: action.model,
      contextLength: action.contextLength,
      joined: false,
    });
    const end = await loadModel(action.model, action.contextLength, setUpdate);
    if (end.type === "error") setError(end.error);
    else props.onStart();
  }

  return (
    <div class="notice warn preflight" role="alert">
      <p class="preflight-message">{props.message}</p>
      {props.hint && !action && <p class="small">{props.hint}</p>}
      <div class="row">
        {action && action.type !== "shorten" && (
          <button type="button" class="preflight-fix" disabled={busy} onClick={fix}>
            {action.label.replace(/ and continue$/, "")} and start
          </button>
        )}
        {action?.type === "shorten" && (
          <button
            type="button"
            class="preflight-quick"
            onClick={() => props.onStart({ quick: true })}
          >
            Run a quick research instead
          </button>
        )}
        {props.canStartAnyway && (
          <button
            type="button"
            class="secondary preflight-anyway"
            disabled={busy}
            onClick={() => props.onStart()}
          >
            Start anyway
          </button>
        )}
        <button type="button" class="link" disabled={busy} onClick={props.onDismiss}>
          Cancel
        </button>
      </div>
      {busy && update && <LoadProgress update={update} />}
      {error && (
        <p class="err" role="alert">
          {error.title ? `${error.title}: ` : ""}
          {error.message} {error.hint ?? ""}
        </p>
      )}
    </div>
  );
}
