/**
 * What every streamed upstream request of the provider module needs around its fetch (the `/v1`
 * stream and LM Studio's native chat alike): its own abort controller, aborted at once when the
 * caller's signal fires or the idle timeout passes; the idle timer, re-armable with a longer
 * allowance while a model loads; and the one answer to "why did it stop?" (timeout or cancel).
 */
import { cancelledError, type ErrorContext, timeoutError } from "./errors.ts";
import { type IdleEntry, type IdleWatcher, sharedIdleWatcher } from "./idle.ts";
import type { ResolvedProvider, UpstreamError } from "./types.ts";

/** One request's abort and idle bookkeeping; `close()` it in a `finally`. */
export class UpstreamGuard {
  readonly #upstream = new AbortController();
  #idleFired = false;
  #idle: IdleEntry;
  /** Set once the answer is complete: a late idle timer changes nothing, `close` aborts nothing. */
  completed = false;

  readonly #watcher: IdleWatcher;

  /** `watcher` defaults to the process-wide one. */
  constructor(
    private readonly signal: AbortSignal,
    watcher: IdleWatcher | undefined,
    timeoutMs: number,
    private readonly provider: ResolvedProvider,
    private readonly ectx: ErrorContext,
  ) {
    this.#watcher = watcher ?? sharedIdleWatcher();
    signal.addEventListener("abort", this.#onAbort, { once: true });
    this.#idle = this.#watcher.watch(timeoutMs, this.#onIdle);
  }

  /** The signal to hand to the upstream fetch. */
  get upstream(): AbortSignal {
    return this.#upstream.signal;
  }

  #onAbort = () => this.#upstream.abort();

  #onIdle = () => {
    if (this.completed || this.#upstream.signal.aborted) return;
    this.#idleFired = true;
    this.#upstream.abort();
  };

  /** Re-arms the idle timeout with another allowance (a model load before the first byte). */
  allow(ms: number): void {
    this.#idle.stop();
    this.#idle = this.#watcher.watch(ms, this.#onIdle);
  }

  /** Marks upstream activity now (bound: pass it as a chunk callback). */
  readonly touch = (): void => this.#idle.touch();

  /** Why the request stopped early: the idle timeout, a cancel, or null (it did not). */
  stopped(): UpstreamError | null {
    return this.#idleFired
      ? timeoutError(this.provider, this.ectx)
      : this.signal.aborted || this.#upstream.signal.aborted
      ? cancelledError(this.provider, this.ectx)
      : null;
  }

  /** Stops watching; aborts the upstream request unless the answer was complete. */
  close(): void {
    this.#idle.stop();
    this.signal.removeEventListener("abort", this.#onAbort);
    if (!this.completed) this.#upstream.abort();
  }
}
