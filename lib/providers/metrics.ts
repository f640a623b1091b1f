/**
 * The measurements every chat stream keeps (`/v1` and LM Studio's native route alike): one
 * starting shape and one rounding, so the two routes report the same fields the same way.
 */
import type { StreamMetrics } from "./types.ts";

/** Milliseconds and rates are reported to one decimal. */
export function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Metrics before anything has arrived; `extra` adds route-specific fields. */
export function startMetrics(
  requestedModel: string | null,
  extra: Pick<StreamMetrics, "loadTimeMs" | "api"> = {},
): StreamMetrics {
  return {
    ttftMs: null,
    tokensPerSecond: null,
    usage: null,
    model: null,
    requestedModel,
    durationMs: 0,
    ...extra,
  };
}
