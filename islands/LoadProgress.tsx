/**
 * A model load in progress: a bar (with a percentage where LM Studio reports one, otherwise
 * indeterminate) and the elapsed time, so a load of minutes never looks like a hung page.
 */
import type { LoadUpdate } from "./model_load.ts";

/** Renders the latest load update. */
export function LoadProgress({ update }: { update: LoadUpdate }) {
  const elapsed = update.type === "progress" ? Math.floor(update.elapsedMs / 1000) : 0;
  const pct = update.type === "progress" && update.progress !== undefined
    ? Math.round(update.progress * 100)
    : null;
  const text = update.type === "progress"
    ? update.message
    : update.type === "start"
    ? `Asking LM Studio to load ${update.model}…`
    : "";
  return (
    <span class="load-progress" role="status" aria-live="polite">
      {pct === null
        ? <progress aria-label="Loading the model" />
        : <progress aria-label="Loading the model" max={100} value={pct} />}
      <span class="small muted load-status">
        {text}
        {pct !== null ? ` ${pct} %` : ""}
        {update.type === "progress" && !text.includes(" s") ? ` ${elapsed} s` : ""}
      </span>
    </span>
  );
}
