/**
 * Large embeddings answers parsed off the main thread. With a fast local server the Library's
 * indexing job is bound by its one JavaScript thread (docs/decisions/library-index.md, "Indexing
 * overhead"), and decoding plus `JSON.parse` of the answers (≈ 500 KB of JSON numbers per batch of
 * 32 × 768, ≈ 20 MB per 1 270 chunks) was a third of that thread's CPU. Here a worker thread
 * decodes, parses and checks the answer and sends the vectors back packed in one transferred
 * `Float32Array` (the values the caller's `new Float32Array(v)` would have made: same rounding).
 *
 * - Only for callers that want float32 vectors (`EmbedRequest.float32`) and answers of at least
 *   `OFF_THREAD_MIN_BYTES`: a query's one vector is parsed inline, where a round trip would cost
 *   more than it saves.
 * - Only the plain success shape is handled here. Anything else (not JSON, an `error` body, a
 *   missing or malformed field) comes back as "not mine" with the bytes, and the caller's inline
 *   path (`embed_wire.ts`) decides, so every error stays exactly the one it was.
 * - The worker is a `node:worker_threads` worker from source text, started on the first large
 *   answer and `unref`ed: it keeps no process alive, needs no file (the bundle and the compiled
 *   binary keep it, as `lib/library/index/sqlite_writer.ts` does with a Blob URL) and no
 *   permission. `node:worker_threads` is imported then, not at start-up (the first `node:`
 *   module starts Deno's Node compatibility layer: tests/distribution/startup_graph_test.ts).
 * - Starting one is not free (≈ 170 ms of CPU and 0.4 s on this two-core machine under load:
 *   Node compatibility boots in the new thread), so answers are parsed inline until it is up,
 *   and it is kept until it has had no answer for `PARSER_IDLE_MS`: a worker thread is ≈ 26 MB
 *   of resident memory (measured idle), not worth keeping between indexing jobs.
 */
import type { Worker } from "node:worker_threads";
import { after } from "../timer.ts";

/** The parser thread ends once it has had no answer for this long. */
export const PARSER_IDLE_MS = 60_000;
let idleMs = PARSER_IDLE_MS;

/** Tests: a shorter idle time before the parser thread ends. */
export function setParserIdleMs(ms: number): void {
  idleMs = ms;
}

/** Whether a parser thread is up and taking answers (tests). */
export function parserRunning(): boolean {
  return current !== null;
}

/** Starts the parser thread if none is running; resolves once it takes answers (tests). */
export async function parserReady(): Promise<void> {
  await start();
}

/** Answers smaller than this are parsed inline (a query's vector is ≈ 15 KB). */
export const OFF_THREAD_MIN_BYTES = 64 * 1024;

/** Which answer shape: OpenAI's `data[].embedding` (sorted by `index`) or Ollama's `embeddings`. */
export type AnswerShape = "openai" | "ollama";

/** The vectors of a success answer, each a view into one buffer. */
export interface ParsedVectors {
  /** The answer's `model` when it is a string. */
  model: string | undefined;
  vectors: Float32Array[];
  promptTokens: number | undefined;
}

interface Job {
  id: number;
  bytes: ArrayBuffer;
  shape: AnswerShape;
  count: number;
}

type Reply =
  | {
    id: number;
    ok: true;
    model: string | undefined;
    promptTokens: number | undefined;
    flat: ArrayBuffer;
    lengths: number[];
  }
  | { id: number; ok: false; bytes: ArrayBuffer };

/**
 * Runs inside the worker (stringified: it may use nothing from this module's scope). The checks
 * are those of `embed_wire.ts` (`openAiEmbed`, `ollamaEmbed`, `vectorsOf`); any answer they
 * would not accept as it is goes back unparsed.
 */
// deno-lint-ignore no-explicit-any
function parserMain(require: (module: string) => any) {
  const { parentPort } = require("node:worker_threads");
  const decoder = new TextDecoder();
  const numberOr = (v: unknown) => typeof v === "number" ? v : undefined;
  // deno-lint-ignore no-explicit-any
  const vectorsOf = (values: any, count: number): number[][] | null => {
    if (!Array.isArray(values) || values.length !== count) return null;
    for (const v of values) {
      if (!Array.isArray(v) || v.length === 0) return null;
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== "number") return null;
    }
    return values;
  };
  parentPort.postMessage({ id: -1, ready: true }); // booted: answers can come
  parentPort.on("message", (job: Job) => {
    const back = () =>
      parentPort.postMessage({ id: job.id, ok: false, bytes: job.bytes }, [job.bytes]);
    // deno-lint-ignore no-explicit-any
    let json: any;
    try {
      json = JSON.parse(decoder.decode(new Uint8Array(job.bytes)));
    } catch {
      return back();
    }
    if (typeof json !== "object" || json === null || Array.isArray(json) || "error" in json) {
      return back();
    }
    let vectors: number[][] | null;
    let promptTokens: number | undefined;
    if (job.shape === "openai") {
      const data = json.data;
      // deno-lint-ignore no-explicit-any
      if (!Array.isArray(data) || data.some((d: any) => typeof d !== "object" || d === null)) {
        return back();
      }
      // deno-lint-ignore no-explicit-any
      const sorted = [...data].sort((a: any, b: any) =>
        (numberOr(a.index) ?? 0) - (numberOr(b.index) ?? 0)
      );
      // deno-lint-ignore no-explicit-any
      vectors = vectorsOf(sorted.map((d: any) => d.embedding), job.count);
      promptTokens = numberOr(json.usage?.prompt_tokens);
    } else {
      vectors = vectorsOf(json.embeddings, job.count);
      promptTokens = numberOr(json.prompt_eval_count);
    }
    if (!vectors) return back();
    let total = 0;
    for (const v of vectors) total += v.length;
    const flat = new Float32Array(total);
    let at = 0;
    for (const v of vectors) {
      flat.set(v, at);
      at += v.length;
    }
    parentPort.postMessage({
      id: job.id,
      ok: true,
      model: typeof json.model === "string" ? json.model : undefined,
      promptTokens,
      flat: flat.buffer,
      lengths: vectors.map((v) => v.length),
    }, [flat.buffer]);
  });
}

/** One worker thread: posts a job, resolves with its reply. */
type Parser = (job: Job) => Promise<Reply>;

let parser: Promise<Parser> | null = null;
/** The booted worker's `post`; null while none is up (answers are then parsed inline). */
let current: Parser | null = null;
/** Which worker `parser` is: a worker that fails clears it only if it is still its own. */
let generation = 0;
let nextId = 0;

function start(): Promise<Parser> {
  return parser ??= import("node:worker_threads").then(
    ({ Worker }) => started(new Worker(`(${parserMain.toString()})(require);`, { eval: true })),
    (e) => {
      parser = null; // tried again on the next answer
      throw e;
    },
  );
}

/** Resolves with the worker's `post` once it has booted (its first message). */
function started(w: Worker): Promise<Parser> {
  w.unref();
  const mine = ++generation;
  const booted = Promise.withResolvers<Parser>();
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  /** Cancels the idle stop armed once nothing was pending. */
  let idle = () => {};
  w.on("message", (reply: Reply) => {
    if (reply.id === -1) return booted.resolve(current = post);
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
    if (pending.size === 0) idle = after(idleMs, () => retire() && void w.terminate());
  });
  let failed = false;
  /** Takes this worker out of use (no new post reaches it); false when it already was. */
  const retire = () => {
    if (failed) return false;
    failed = true;
    if (generation === mine) parser = current = null; // the next answer starts a new one
    return true;
  };
  const fail = (e: unknown) => {
    retire();
    booted.reject(e);
    const waiting = [...pending.values()];
    pending.clear();
    for (const p of waiting) p.reject(e);
  };
  w.on("error", fail);
  w.on("exit", () => fail(new Error("the embeddings parser stopped")));
  function post(job: Job): Promise<Reply> {
    if (failed) return Promise.reject(new Error("the embeddings parser stopped"));
    idle();
    return new Promise<Reply>((resolve, reject) => {
      pending.set(job.id, { resolve, reject });
      w.postMessage(job, [job.bytes]);
    });
  }
  booted.promise.catch(() => {}); // a worker that never booted: `parser` is cleared by `fail`
  return booted.promise;
}

/**
 * The vectors of a success answer of `count` vectors parsed on the worker, or the bytes back
 * when the answer is anything else or the worker is not up yet (then it is started, and `bytes`
 * comes back as it is; otherwise as a new array: `bytes` itself is moved to the worker).
 * Rejects only if the worker itself fails.
 */
export function parseOffThread(
  bytes: Uint8Array,
  shape: AnswerShape,
  count: number,
): Promise<ParsedVectors | Uint8Array> {
  const post = current;
  if (!post) {
    start().catch(() => {}); // parsed inline meanwhile; a failed start is tried again next time
    return Promise.resolve(bytes);
  }
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
  const job: Job = { id: nextId++, bytes: owned, shape, count };
  return post(job).then((reply) => {
    if (!reply.ok) return new Uint8Array(reply.bytes);
    const flat = new Float32Array(reply.flat);
    let at = 0;
    const vectors = reply.lengths.map((n) => flat.subarray(at, at += n));
    return { model: reply.model, vectors, promptTokens: reply.promptTokens };
  });
}
