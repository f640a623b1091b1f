/**
 * The one idle-timeout mechanism (`llm.request_timeout` of silence between upstream bytes, the
 * first one included) for every upstream request: the provider module's completions and the /v1
 * relay. One shared interval instead of a timer per request: a byte then costs one clock read,
 * and starting a request no timer. The interval runs only while some request is being watched,
 * so an idle server (and a finished test) has no timer left.
 */
import { every } from "../timer.ts";

/** One watched request. */
export interface IdleEntry {
  /** Marks upstream activity now. */
  touch(): void;
  /** Stops watching (the request ended). */
  stop(): void;
}

/** Watches many requests. */
export interface IdleWatcher {
  /** Calls `onIdle` once when `timeoutMs` pass without a `touch`. */
  watch(timeoutMs: number, onIdle: () => void): IdleEntry;
  /** Requests currently watched. */
  readonly size: number;
}

interface Entry extends IdleEntry {
  last: number;
  timeoutMs: number;
  onIdle: () => void;
}

/**
 * Silence tolerated while a server is known to be loading a model (LM Studio's JIT load before a
 * `/v1` answer, or its native chat's `model_load.*` phase): a slow disk can take minutes, and a
 * load is not a hang. `llm.request_timeout` applies again from the first byte after it.
 */
export const LOAD_IDLE_MS = 10 * 60_000;

/** How often the interval looks (a timeout fires at most this late). */
export const IDLE_TICK_MS = 250;

/** A watcher over a monotonic ms clock. */
export function createIdleWatcher(now: () => number, tickMs = IDLE_TICK_MS): IdleWatcher {
  const active = new Set<Entry>();
  let timer: (() => void) | undefined; // stops the interval (lib/timer.ts: no setInterval)
  let period = Infinity;

  function stopTimerIfEmpty() {
    if (active.size === 0 && timer !== undefined) {
      timer();
      timer = undefined;
      period = Infinity;
    }
  }

  function sweep() {
    const t = now();
    for (const e of active) {
      if (t - e.last >= e.timeoutMs) {
        active.delete(e);
        e.onIdle();
      }
    }
    stopTimerIfEmpty();
  }

  return {
    watch(timeoutMs, onIdle) {
      const entry: Entry = {
        last: now(),
        timeoutMs,
        onIdle,
        touch() {
          entry.last = now();
        },
        stop() {
          active.delete(entry);
          stopTimerIfEmpty();
        },
      };
      active.add(entry);
      const wanted = Math.min(tickMs, Math.max(10, timeoutMs / 4));
      if (wanted < period) {
        timer?.();
        period = wanted;
        timer = every(period, sweep);
      }
      return entry;
    },
    get size() {
      return active.size;
    },
  };
}

let shared: IdleWatcher | undefined;

/** The process-wide watcher over `performance.now()`, for callers that were not handed one. */
export function sharedIdleWatcher(): IdleWatcher {
  shared ??= createIdleWatcher(() => performance.now());
  return shared;
}
