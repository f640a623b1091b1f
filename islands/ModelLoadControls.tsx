/**
 * Load and reload actions for one model in the picker (LM Studio 0.4+): "Load…" for a model that
 * is not loaded, "Reload with larger context…" for a loaded one, each opening a choice of context
 * sizes up to the model's maximum with the size a detailed research run needs marked. Reloading
 * asks first, since other programs may be using the model. While LM Studio loads, a progress bar
 * shows the elapsed time (and a percentage when one is reported).
 */
import { useState } from "preact/hooks";
import { contextPresets, recommendedContext } from "../lib/providers/context_advice.ts";
import type { ModelInfo } from "../lib/providers/types.ts";
import type { ApiError } from "./api.ts";
import { LoadProgress } from "./LoadProgress.tsx";
import { ctxLabel, loadModel, type LoadUpdate } from "./model_load.ts";

/** Props: the model and what to do once its new state is known. */
export interface ModelLoadControlsProps {
  model: ModelInfo;
  /** Called after a load or reload finished (the parent refreshes its list). */
  onLoaded(model: string, contextLength: number): void;
}

/** The Load… / Reload… button with its context choice, confirmation and progress. */
export function ModelLoadControls({ model, onLoaded }: ModelLoadControlsProps) {
  const loaded = model.state === "loaded";
  const current = model.loadedContextLength ?? 0;
  const presets = contextPresets(model.maxContextLength).filter((n) => !loaded || n > current);
  const recommended = recommendedContext(model.maxContextLength);
  const initial = presets.includes(recommended) ? recommended : presets.at(-1) ?? recommended;
  const [open, setOpen] = useState(false);
  const [size, setSize] = useState(initial);
  const [confirming, setConfirming] = useState(false);
  const [update, setUpdate] = useState<LoadUpdate | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const busy = update !== null && update.type !== "done" && update.type !== "error";
  const id = `load-${model.id.replace(/[^a-zA-Z0-9_-]/g, "_")}`;

  async function go() {
    setConfirming(false);
    setError(null);
    setUpdate({ type: "start", model: model.id, contextLength: size, joined: false });
    const end = await loadModel(model.id, size, setUpdate);
    if (end.type === "error") setError(end.error);
    else {
      setOpen(false);
      onLoaded(model.id, end.contextLength);
    }
  }

  if (!presets.length && loaded) {
    return <span class="muted small">loaded at its maximum context</span>;
  }
  return (
    <span class="model-load">
      {!open && !busy && (
        <button
          type="button"
          class="link small load-open"
          aria-expanded="false"
          aria-controls={id}
          onClick={() => setOpen(true)}
        >
          {loaded ? "Reload with larger context…" : "Load…"}
        </button>
      )}
      {open && (
        <span class="load-panel" id={id} role="group" aria-label={`Load ${model.id}`}>
          <label class="small">
            Context
            <select
              class="load-size"
              value={String(size)}
              disabled={busy}
              onChange={(e) => setSize(Number(e.currentTarget.value))}
            >
              {presets.map((n) => (
                <option key={n} value={String(n)}>
                  {ctxLabel(n)}
                  {n === recommended ? " (recommended for research)" : ""}
                  {n === model.maxContextLength ? " (maximum)" : ""}
                </option>
              ))}
            </select>
          </label>
          {!busy && !confirming && (
            <>
              <button
                type="button"
                class="small load-go"
                onClick={() => (loaded ? setConfirming(true) : go())}
              >
                {loaded ? "Reload" : "Load"}
              </button>
              <button type="button" class="link small" onClick={() => setOpen(false)}>
                Cancel
              </button>
            </>
          )}
          {confirming && (
            <span class="load-confirm" role="alertdialog" aria-label="Confirm reload">
              <span class="small">
                Other programs using {model.id} lose it while LM Studio reloads it with{" "}
                {ctxLabel(size)} tokens of context. Reload now?
              </span>
              <button type="button" class="small load-confirm-yes" onClick={go}>
                Yes, reload
              </button>
              <button type="button" class="link small" onClick={() => setConfirming(false)}>
                No
              </button>
            </span>
          )}
        </span>
      )}
      {busy && update && <LoadProgress update={update} />}
      {error && (
        <span class="err small load-error" role="alert">
          {error.title ? `${error.title}: ` : ""}
          {error.message}
          {error.hint ? ` ${error.hint}` : ""}
        </span>
      )}
    </span>
  );
}
