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
  return entries.map((e) =>
    `${e.name};dur=${Math.max(0, Math.round(e.dur * 100) / 100)}${
      e.desc ? `;desc="${e.desc}"` : ""
    }`
  ).join(", ");
}

/** Timestamps of one request's life (all from the same monotonic clock, in ms). */
export interface RequestClock {
  /** The handler started. */
  start: number;
  /** Time spent waiting on the upstream (headers, model lists), summed. */
  upstream: number;
}

/** `ds` = elapsed minus upstream waits; `upstream` when there was any. */
export function timingHeader(clock: RequestClock, now: number): string {
  const entries: TimingEntry[] = [{
    name: "ds",
    dur: now - clock.start - clock.upstream,
    desc: "deepstudio",
  }];
  if (clock.upstream > 0) entries.push({ name: "upstream", dur: clock.upstream, desc: "upstream" });
  return serverTiming(entries);
}
