/**
 * `Server-Timing` for gateway responses: the time deepstudio itself spent (`ds`) kept apart from
 * the time spent waiting for the server behind it (`upstream`), so anyone with browser devtools or
 * `curl -i` can see that the gateway adds almost nothing, per request, without a benchmark.
 */

/** One metric: name, duration in ms, optional description. */
export interface TimingEntry {
  name: string;
  dur: number;
  desc?: string;
}

/** The header value, durations rounded to 0.01 ms. */
export function serverTiming(entries: TimingEntry[]): string {
  return entries.map((e) => `${e.name};dur=${rounded(e.dur)}${e.desc ? `;desc="${e.desc}"` : ""}`)
    .join(", ");
}

/** Timestamps of one request's life (all from the same monotonic clock, in ms). */
export interface RequestClock {
  /** The handler started. */
  start: number;
  /** Time spent waiting on the upstream (headers, model lists), summed. */
  upstream: number;
}

/** `ds` = elapsed minus upstream waits; `upstream` when there was any (built without arrays). */
export function timingHeader(clock: RequestClock, now: number): string {
  const ds = `ds;dur=${rounded(now - clock.start - clock.upstream)};desc="deepstudio"`;
  return clock.upstream > 0 ? `${ds}, upstream;dur=${rounded(clock.upstream)};desc="upstream"` : ds;
}

function rounded(ms: number): number {
  return Math.max(0, Math.round(ms * 100) / 100);
}
