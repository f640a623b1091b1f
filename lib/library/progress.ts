/**
 * A job's `progress` events at a fixed cadence. The job updates its counts as every batch lands
 * and every document starts and ends (three times per document of one batch); each `progress`
 * event is a JSON frame written to every SSE subscriber, which with a fast embedding server was
 * ≈ 120 frames per 40-document job, most of them within milliseconds of the one before
 * (docs/decisions/library-index.md, "Indexing overhead", sixth round). Here an update goes out
 * at once when the last one is at least `PROGRESS_EVERY_MS` old, else once that much time has
 * passed, with the counts of that moment; `flush` sends a held one now, so a job's last counts
 * are always sent, and exactly.
 */
import { after } from "../timer.ts";
import type { Progress } from "./types.ts";

/** A job's progress before its documents are listed: the job and tests start from it. */
export function startingProgress(): Progress {
  return {
    state: "indexing",
    docsTotal: 0,
    docsDone: 0,
    chunksEmbedded: 0,
    chunksPerSecond: null,
    etaSeconds: null,
    currentFile: null,
    error: null,
  };
}

/** At most ten `progress` events a second: a progress bar and its ETA need no more. */
export const PROGRESS_EVERY_MS = 100;

/** Publishes a job's progress (derived rates included), at most every `everyMs`. */
export class ProgressEvents {
  #lastAt = -Infinity;
  #held: (() => void) | null = null;
  /** Bytes of the job's documents done and in all, for the ETA. */
  bytesDone = 0;
  bytesTotal = 0;

  constructor(
    private progress: Progress,
    private publish: (p: Progress) => void,
    /** The job's clock (for the rates), the same as its timestamps'. */
    private now: () => number,
    private startedAt: number,
    private everyMs = PROGRESS_EVERY_MS,
  ) {}

  /** The counts changed: sent now, or held until the cadence allows. */
  emit(): void {
    if (this.#held) return;
    const wait = this.#lastAt + this.everyMs - performance.now();
    if (wait <= 0) return this.#send();
    this.#held = after(wait, () => {
      this.#held = null;
      this.#send();
    });
  }

  /** Sends now, and whatever was held with it (the job's last counts, a state change). */
  flush(): void {
    this.stop();
    this.#send();
  }

  /** Sends a held update now, if any. */
  flushHeld(): void {
    if (this.#held) this.flush();
  }

  /** Drops a held update (the job stopped). */
  stop(): void {
    this.#held?.();
    this.#held = null;
  }

  #send(): void {
    this.#lastAt = performance.now();
    const p = this.progress;
    const seconds = (this.now() - this.startedAt) / 1000;
    p.chunksPerSecond = seconds > 0 ? p.chunksEmbedded / seconds : null;
    p.etaSeconds = this.bytesDone > 0
      ? (seconds * (this.bytesTotal - this.bytesDone)) / this.bytesDone
      : null;
    this.publish({ ...p });
  }
}
