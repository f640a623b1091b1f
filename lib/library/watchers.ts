/**
 * Per-collection polls of the Library's service: a paused collection asking whether its provider
 * is back, a collection whose job another process runs asking whether that process is done or
 * gone. One timer per collection and purpose; a tick never overlaps the previous one (a status
 * probe may take longer than the interval), and a tick that returns true ends the watch.
 */

/** Keyed, non-overlapping interval polls. */
export class Watchers {
  #timers = new Map<string, ReturnType<typeof setInterval>>();

  constructor(private log: (m: string) => void) {}

  /** Starts polling `id` every `everyMs` unless it is already polled. */
  watch(id: string, everyMs: number, tick: () => Promise<boolean>): void {
    if (this.#timers.has(id)) return;
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        if (await tick()) this.stop(id);
      } catch (e) {
        this.log(`library: a check of ${id} failed: ${e instanceof Error ? e.message : e}`);
      } finally {
        busy = false;
      }
    }, everyMs);
    this.#timers.set(id, timer);
  }

  stop(id: string): void {
    clearInterval(this.#timers.get(id));
    this.#timers.delete(id);
  }

  stopAll(): void {
    for (const id of [...this.#timers.keys()]) this.stop(id);
  }
}
