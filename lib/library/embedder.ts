/**
 * Turns chunks into vectors through the provider module's `embed` slot: batches, a bounded
 * number of requests in flight, retry with exponential backoff on the failures that pass
 * (429, 5xx, timeouts, dropped connections), cancellation, the model family's prefix, and a
 * dimension check on every answer (learned from the first one when the collection has none yet).
 */
import type { EmbedRequest, EmbedResult } from "../providers/adapter.ts";
import { ProviderError } from "../providers/errors.ts";
import type { UpstreamError } from "../providers/types.ts";
import type { PrefixRule } from "./prefixes.ts";

/** Calls the provider (providerService.embed bound to one provider). */
export type EmbedCall = (req: EmbedRequest, signal?: AbortSignal) => Promise<EmbedResult>;

/** The model answered with vectors of another size than the collection holds. */
export class DimensionError extends Error {
  constructor(readonly expected: number, readonly actual: number, readonly model: string) {
    super(
      `${model} answered with ${actual}-dimensional vectors; this collection holds ${expected}`,
    );
    this.name = "DimensionError";
  }
  /** What to do. */
  readonly hint =
    "The server is serving a different model than the collection was indexed with: load the collection's model, or re-index the collection with the new one.";
}

/** Tuning of one embedder. */
export interface EmbedderOptions {
  call: EmbedCall;
  model: string;
  prefix: PrefixRule;
  /** Known dimensions (the collection's), or null to learn from the first answer. */
  dimensions: number | null;
  batchSize?: number;
  concurrency?: number;
  /** Attempts per batch on retryable failures, the first included. */
  attempts?: number;
  backoffMs?: number;
  /** Waits (tests pass a recorder); must reject when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Kinds worth retrying: the server is busy or briefly gone. */
const RETRYABLE = new Set<UpstreamError["kind"]>([
  "rate_limit",
  "server_error",
  "timeout",
  "connection",
]);

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Embeds documents and queries for one collection's model. */
export class Embedder {
  #dimensions: number | null;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Requests in flight across every caller of this embedder, and who waits for a slot. */
  #inFlight = 0;
  /** Requests not finished yet: inside the server, or their answers being read and parsed. */
  #inCall = 0;
  #waiting: (() => void)[] = [];

  constructor(private opts: EmbedderOptions) {
    this.#dimensions = opts.dimensions;
    this.batchSize = opts.batchSize ?? 32;
    this.concurrency = opts.concurrency ?? 2;
    this.#attempts = opts.attempts ?? 4;
    this.#backoffMs = opts.backoffMs ?? 500;
    this.#sleep = opts.sleep ?? abortableSleep;
  }

  /** Dimensions learned or given; null before the first answer. */
  get dimensions(): number | null {
    return this.#dimensions;
  }

  /**
   * One request, in one of `concurrency` slots shared by every caller (the job embeds several
   * documents at once; the server still sees at most `concurrency` requests). The slot is given
   * up as soon as the answer's head is in (`EmbedRequest.received`), not once it is parsed: the
   * next request is then computed by the server while this answer is read, parsed and copied.
   */
  async #request(input: string[], signal?: AbortSignal) {
    // Answers being read and parsed count too (twice `concurrency` at most), so their bodies in
    // memory stay bounded however fast the server answers.
    while (this.#inFlight >= this.concurrency || this.#inCall >= 2 * this.concurrency) {
      await new Promise<void>((r) => this.#waiting.push(r));
    }
    this.#inFlight++;
    this.#inCall++;
    let held = true;
    const free = () => {
      if (!held) return;
      held = false;
      this.#inFlight--;
      this.#waiting.shift()?.();
    };
    try {
      return await this.opts.call(
        { model: this.opts.model, input, received: free, float32: true },
        signal,
      );
    } finally {
      free();
      this.#inCall--;
      this.#waiting.shift()?.();
    }
  }

  async #call(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    for (let attempt = 1;; attempt++) {
      try {
        const result = await this.#request(input, signal);
        return result.vectors.map((v) => {
          if (this.#dimensions === null) this.#dimensions = v.length;
          if (v.length !== this.#dimensions) {
            throw new DimensionError(this.#dimensions, v.length, this.opts.model);
          }
          // Parsed off the main thread, a large answer's vectors are float32 already.
          return v instanceof Float32Array ? v : new Float32Array(v);
        });
      } catch (e) {
        const kind = e instanceof ProviderError ? e.error.kind : null;
        if (!kind || !RETRYABLE.has(kind) || attempt >= this.#attempts || signal?.aborted) throw e;
        const retryAfter = (e as ProviderError).error.retryAfter;
        const wait = retryAfter !== undefined
          ? retryAfter * 1000
          : this.#backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
        await this.#sleep(Math.min(wait, 30_000), signal);
      }
    }
  }

  /**
   * Vectors of document texts, in order. `onBatch(start, vectors)` runs as each batch lands
   * (batches may land out of order, at most `concurrency` at a time), so callers can store
   * progress without waiting for the whole list.
   */
  async embedDocuments(
    texts: string[],
    opts: {
      signal?: AbortSignal;
      onBatch?: (start: number, vectors: Float32Array[]) => Promise<void> | void;
    } = {},
  ): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(texts.length);
    const starts: number[] = [];
    for (let s = 0; s < texts.length; s += this.batchSize) starts.push(s);
    let next = 0;
    let failed: unknown = null;
    const worker = async () => {
      while (next < starts.length && failed === null) {
        const start = starts[next++];
        const input = texts.slice(start, start + this.batchSize).map((t) =>
          this.opts.prefix.document + t
        );
        try {
          const vectors = await this.#call(input, opts.signal);
          vectors.forEach((v, i) => out[start + i] = v);
          await opts.onBatch?.(start, vectors);
        } catch (e) {
          failed ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, starts.length) }, worker));
    if (failed !== null) throw failed;
    return out;
  }

  /** The vector of a search query (with the family's query prefix). */
  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return (await this.#call([this.opts.prefix.query + text], signal))[0];
  }
}
