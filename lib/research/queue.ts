/**
 * The run queue: at most `limit()` jobs run at once (read on every decision, so a changed
 * `app.max_concurrent_researches` applies to the next start); the rest wait in submission order
 * and are told their position whenever it changes. The number waiting is bounded: a caller reserves
 * a place (`reserve`) before it does any work for a new job, so concurrent submissions cannot
 * overshoot `app.max_queued_researches`.
 */

/** A queued unit of work. */
export interface QueueJob {
  id: string;
  run(): Promise<void>;
  /**
   * Called with the 1-based position whenever it changes while waiting. In memory only: a shift
   * moves every waiting job, so anything stored here would grow with the square of the queue.
   */
  position(position: number, limit: number): void;
}

/** A place held in the queue between the check and the enqueue. */
export interface QueueReservation {
  /** Enqueues the job in the reserved place. */
  enqueue(job: QueueJob): void;
  /** Gives the place back (the job was never created). */
  release(): void;
}

/** The queue's surface. */
export interface RunQueue {
  enqueue(job: QueueJob): void;
  /**
   * Holds a place for a job about to be created, or null when `max` jobs already wait (or hold
   * places). Synchronous, so two concurrent submissions cannot both take the last place.
   */
  reserve(max: number): QueueReservation | null;
  /** The 1-based position of a waiting job, 0 when it is not waiting. */
  positionOf(id: string): number;
  /** Removes a waiting job; false when it already started (or is unknown). */
  remove(id: string): boolean;
  readonly running: number;
  readonly waiting: number;
  /** Resolves when nothing runs or waits. */
  idle(): Promise<void>;
}

/** A queue whose concurrency limit comes from `limit` (sync or async, e.g. from settings). */
export function createRunQueue(
  limit: () => number | Promise<number>,
  log: (m: string) => void = () => {},
): RunQueue {
  const waiting: QueueJob[] = [];
  let running = 0;
  let reserved = 0;
  let pumping = false;
  let again = false;
  let idleWaiters: (() => void)[] = [];

  function notify(max: number) {
    waiting.forEach((job, i) => job.position(i + 1, max));
  }

  function checkIdle() {
    if (running === 0 && waiting.length === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const resolve of w) resolve();
    }
  }

  async function pump() {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        let max = 1;
        try {
          max = Math.max(1, await limit());
        } catch (e) {
          log(`could not read the research concurrency limit: ${(e as Error).message}`);
        }
        while (running < max && waiting.length) {
          const job = waiting.shift()!;
          running++;
          job.run().catch((e) => log(`research run ${job.id} crashed: ${(e as Error).message}`))
            .finally(() => {
              running--;
              checkIdle();
              pump();
            });
        }
        notify(max); // jobs ignore an unchanged position
      } while (again);
    } finally {
      pumping = false;
    }
  }

  function enqueue(job: QueueJob) {
    waiting.push(job);
    pump();
  }

  return {
    enqueue,
    reserve(max) {
      if (waiting.length + reserved >= max) return null;
      reserved++;
      let held = true;
      const giveBack = () => {
        if (held) reserved--;
        held = false;
      };
      return {
        enqueue(job) {
          giveBack();
          enqueue(job);
        },
        release: giveBack,
      };
    },
    positionOf(id) {
      return waiting.findIndex((j) => j.id === id) + 1;
    },
    remove(id) {
      const i = waiting.findIndex((j) => j.id === id);
      if (i < 0) return false;
      waiting.splice(i, 1);
      pump();
      checkIdle();
      return true;
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiting.length;
    },
    idle() {
      if (running === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
