/**
 * What a waiting run is told about its place in the queue. The position is derived when read (the
 * run's record, an SSE follower) instead of being stored as an event on every shift: with N runs
 * waiting, each start moves all of them, and storing that grows KV with N² (400 runs: ~49 MB).
 * So a waiting run stores one `queued` progress event; later positions reach live followers as
 * unstored frames (seq 0, sent without an `id:` so a reconnect resumes after the last stored one).
 */
import { AppError } from "../http/errors.ts";
import type { ProgressData, RunEvent } from "./schema.ts";

/** The progress of a run waiting at `position` (1-based) with `limit` runs at a time. */
export function queuedProgress(position: number, limit: number): ProgressData {
  return {
    phase: "queued",
    message: `Waiting for a free slot: number ${position} in the queue (${limit} run${
      limit === 1 ? "" : "s"
    } at a time)`,
    percent: 0,
    position,
  };
}

/** 429: `max` runs already wait. */
export function queueFull(max: number): AppError {
  return new AppError(
    429,
    "too_many_requests",
    `The research queue is full: ${max} run${max === 1 ? " is" : "s are"} already waiting ` +
      `(app.max_queued_researches = ${max}); start this one when some have finished, or cancel some`,
    { limit: max },
  );
}

/** Live position updates of one waiting run: `send` is called on every shift. */
export type PositionWatchers = Set<(progress: ProgressData) => void>;

/**
 * `events` with the run's position changes merged in as unstored `progress` frames (seq 0) while it
 * waits. Ends when `events` ends; stops listening for positions as soon as it does.
 */
export async function* withLivePositions(
  events: AsyncIterable<RunEvent>,
  watchers: PositionWatchers | undefined,
  now: () => number,
): AsyncGenerator<RunEvent> {
  if (!watchers) return yield* events;
  const it = events[Symbol.asyncIterator]();
  const extra: ProgressData[] = [];
  let wake: (() => void) | null = null;
  const send = (p: ProgressData) => {
    extra.length = 0; // only the latest position matters
    extra.push(p);
    wake?.();
  };
  watchers.add(send);
  let next: Promise<IteratorResult<RunEvent>> | null = null;
  try {
    for (;;) {
      if (!extra.length) {
        next ??= it.next();
        const woke = new Promise<"position">((r) => (wake = () => r("position")));
        const got = await Promise.race([next, woke]);
        wake = null;
        if (got !== "position") {
          next = null;
          if (got.done) return;
          yield got.value;
          continue;
        }
      }
      // Positions are sent only while the run waits, so before anything it does next.
      const p = extra.shift();
      if (p) yield { seq: 0, type: "progress", data: p, at: now() } as RunEvent;
    }
  } finally {
    watchers.delete(send);
    await it.return?.();
  }
}
