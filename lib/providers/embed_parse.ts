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
 */
import type { Worker } from "node:worker_threads";

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
/** The running worker's `post`, to tell whether a failing worker is still the one in use. */
let current: Parser | null = null;
let nextId = 0;

function start(): Promise<Parser> {
  return parser ??= import("node:worker_threads").then(({ Worker }) =>
    started(new Worker(`(${parserMain.toString()})(require);`, { eval: true }))
  );
}

function started(w: Worker): Parser {
  w.unref();
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  w.on("message", (reply: Reply) => {
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
  });
  let failed = false;
  const fail = (e: unknown) => {
    failed = true;
    if (current === post) parser = current = null; // the next answer starts a new one
    const waiting = [...pending.values()];
    pending.clear();
    for (const p of waiting) p.reject(e);
  };
  w.on("error", fail);
  w.on("exit", () => fail(new Error("the embeddings parser stopped")));
  function post(job: Job): Promise<Reply> {
    if (failed) return Promise.reject(new Error("the embeddings parser stopped"));
    return new Promise<Reply>((resolve, reject) => {
      pending.set(job.id, { resolve, reject });
      w.postMessage(job, [job.bytes]);
    });
  }
  return current = post;
}

/**
 * The vectors of a success answer of `count` vectors parsed on the worker, or the bytes back
 * (as a new array: `bytes` itself is moved to the worker) when the answer is anything else.
 * Rejects only if the worker itself fails.
 */
export function parseOffThread(
  bytes: Uint8Array,
  shape: AnswerShape,
  count: number,
): Promise<ParsedVectors | Uint8Array> {
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
  const job: Job = { id: nextId++, bytes: owned, shape, count };
  return start().then((post) => post(job)).then((reply) => {
    if (!reply.ok) return new Uint8Array(reply.bytes);
    const flat = new Float32Array(reply.flat);
    let at = 0;
    const vectors = reply.lengths.map((n) => flat.subarray(at, at += n));
    return { model: reply.model, vectors, promptTokens: reply.promptTokens };
  });
}
