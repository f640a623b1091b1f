/**
 * What a run says while the model server has not produced text yet. LM Studio's native chat
 * reports loading and prompt-reading progress (docs/lmstudio_native_api.md), so those waits get a
 * percentage; `/v1` servers only let us count seconds. One message per second or per percent
 * step, so a long wait shows movement without flooding the event log.
 */
import type { StreamEvent } from "../providers/types.ts";

type Waiting = Extract<StreamEvent, { type: "waiting" }>;

/** The progress text and extra fields for a `waiting` event; `key` changes when it is worth a new event. */
export function waitingProgress(
  ev: Waiting,
  ctx: { providerName: string; model: string },
): { key: string; message: string; extra: Record<string, unknown> } {
  const seconds = Math.floor(ev.elapsedMs / 1000);
  const pct = ev.progress === undefined ? null : Math.round(ev.progress * 100);
  const extra: Record<string, unknown> = {
    waiting: true,
    wait: ev.phase,
    elapsedMs: ev.elapsedMs,
  };
  if (pct !== null) extra.waitPercent = pct;
  const tail = pct !== null ? ` ${pct} %` : "";
  const message = ev.phase === "loading"
    ? `Loading ${ev.model ?? ctx.model} in ${ctx.providerName}…${tail} (${seconds} s)`
    : ev.phase === "prompt" && pct !== null
    ? `${ctx.providerName} is reading the prompt…${tail} (${seconds} s)`
    : ev.phase === "prompt"
    ? `Waiting for ${ctx.providerName}: processing the prompt… ${seconds} s`
    : `Waiting for ${ctx.providerName}: loading the model or processing the prompt… ${seconds} s`;
  return { key: `${ev.phase}:${pct ?? ""}:${seconds}`, message, extra };
}
