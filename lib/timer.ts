/**
 * Timers for the request path without `setTimeout`. Deno's `setTimeout` and `setInterval` load
 * its Node-compatible timers module on their first call, which stays resident (~2-3 MB of idle
 * RSS, measured by scripts/bench_memory.ts); `AbortSignal.timeout` runs on the runtime's own timer
 * queue and loads nothing. An `AbortSignal.timeout` cannot be cancelled, though, so one per request
 * would keep every finished request's deadline armed until it fired: instead, every deadline of
 * the process shares one wheel, which keeps a single `AbortSignal.timeout` armed for the earliest
 * deadline and re-arms it when that one fires. Cancelling a deadline only forgets it.
 *
 * Like `AbortSignal.timeout`, a pending deadline does not keep the process alive (a server is
 * kept alive by its listener). Precision is the runtime timer's (1 ms).
 */

interface Deadline {
  at: number;
  fn: () => void;
}

const pending = new Set<Deadline>();
/** When the earliest native timer armed is due (Infinity: none armed). */
let armedAt = Infinity;

function arm(at: number): void {
  if (at >= armedAt) return;
  armedAt = at;
  const signal = AbortSignal.timeout(Math.max(0, Math.ceil(at - performance.now())));
  signal.addEventListener("abort", () => fire(at), { once: true });
}

function fire(at: number): void {
  // A later native timer armed before an earlier one replaced it fires too: it finds the wheel
  // already re-armed and leaves it alone.
  if (at !== armedAt) return;
  armedAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  const due: Deadline[] = [];
  for (const d of pending) {
    if (d.at <= now) {
      pending.delete(d);
      due.push(d);
    } else if (d.at < next) next = d.at;
  }
  if (next !== Infinity) arm(next);
  for (const d of due) {
    try {
      d.fn();
    } catch (e) {
      // As a throwing setTimeout callback would: reported, and the other deadlines still run.
      reportError(e);
    }
  }
}

/** Calls `fn` once after `ms`; the returned function cancels it (a no-op once it ran). */
export function after(ms: number, fn: () => void): () => void {
  const d: Deadline = { at: performance.now() + Math.max(0, ms), fn };
  pending.add(d);
  arm(d.at);
  return () => {
    pending.delete(d);
  };
}

/** Calls `fn` every `ms` until the returned function is called. */
export function every(ms: number, fn: () => void): () => void {
  let stopped = false;
  let cancel = () => {};
  const tick = () => {
    if (stopped) return;
    cancel = after(ms, tick);
    fn();
  };
  cancel = after(ms, tick);
  return () => {
    stopped = true;
    cancel();
  };
}

/** Deadlines waiting on the wheel (for tests: a cancelled or fired deadline is not counted). */
export function pendingDeadlines(): number {
  return pending.size;
}
