/**
 * The wake-up of a loop that sleeps until something happens (an event arrives, a stream ends, a
 * signal aborts): the loop checks its state, then `await w.wait()`; producers call `w.wake()`.
 * A wake with nobody waiting is dropped, which is safe because the loop re-checks its state
 * before each wait (nothing can run between that check and the wait: one thread).
 */
export interface Wakeup {
  /** Resolves at the next `wake()`. */
  wait(): Promise<void>;
  /** Wakes the waiting loop, if one waits. */
  wake(): void;
}

/** A wake-up for one loop. */
export function createWakeup(): Wakeup {
  let resume: (() => void) | null = null;
  return {
    wait: () => new Promise<void>((resolve) => (resume = resolve)),
    wake() {
      const r = resume;
      resume = null;
      r?.();
    },
  };
}
