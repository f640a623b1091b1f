/**
 * The adapters' `embed` slot on the wire. Two shapes (facts in docs/embeddings.md):
 * OpenAI's `POST /v1/embeddings` (LM Studio, llama.cpp `--embeddings`, vLLM, Ollama's
 * compatibility route) and Ollama's native `POST /api/embed`. Failures become the one typed
 * `UpstreamError`, with the embedding-specific causes people hit recognised first: llama.cpp's
 * "input (N tokens) is too large to process" (physical batch), "Pooling type 'none' is not OAI
 * compatible" (started without `--pooling`), 501 without `--embeddings`, LM Studio's 200 with an
 * `error` body, and answers without vectors.
 */
import type { EmbedRequest, EmbedResult, SlotContext } from "./adapter.ts";
import { type ErrorContext, errorFromHttp, ProviderError } from "./errors.ts";
import { isErrorBody, timedCall } from "./http.ts";
import { MAX_JSON_DEPTH } from "../http/json_guard.ts";
import { authHeaders } from "./resolve.ts";
import type { UpstreamError } from "./types.ts";
import { readCapped } from "../net/read_capped.ts";
import { type AnswerShape, OFF_THREAD_MIN_BYTES, parseOffThread } from "./embed_parse.ts";

/** One embeddings call may take a while: JIT loading a model comes first. */
export const EMBED_TIMEOUT_MS = 120_000;

/** 768 floats as JSON are ~15 KB; 256 inputs of 4096 dimensions fit well under this. */
const MAX_EMBED_BODY = 64 * 1024 * 1024;

function serverMessage(json: unknown, text: string): string {
  const e = (json as { error?: unknown } | null)?.error;
  if (typeof e === "string") return e;
  if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") {
    return (e as { message: string }).message;
  }
  return text.slice(0, 400);
}

/** The general mapping, sharpened for what embedding servers say. */
function embedError(
  status: number,
  headers: Headers,
  json: unknown,
  text: string,
  ctx: SlotContext,
  ectx: ErrorContext,
): UpstreamError {
  const base = errorFromHttp(status, json ?? text, headers, ctx.provider, ectx);
  const msg = serverMessage(json, text);
  const tooLarge = /input \((\d+) tokens\) is too large to process.*batch size: (\d+)/i.exec(msg);
  if (tooLarge) {
    return {
      ...base,
      kind: "token_limit",
      title: "Token Limit Exceeded",
      promptTokens: Number(tooLarge[1]),
      contextLength: Number(tooLarge[2]),
      hint: `A chunk of ${tooLarge[1]} tokens does not fit the server's batch of ${
        tooLarge[2]
      }: start llama-server with a larger -b and -ub (e.g. -b 2048 -ub 2048), or lower library.chunk_tokens.`,
    };
  }
  if (/pooling type 'none' is not oai compatible/i.test(msg)) {
    return {
      ...base,
      kind: "bad_request",
      hint:
        "llama-server was started with --embeddings but this model has no pooling: add --pooling mean (or cls/last as the model card says), or load a real embedding model.",
    };
  }
  if (status === 501) {
    return {
      ...base,
      kind: "bad_request",
      hint:
        "This llama-server does not serve embeddings: restart it with --embeddings --pooling mean.",
    };
  }
  return base;
}

/** A `server_error` for an answer deepstudio cannot use, on the 502 mapping of `body`. */
function serverError(
  ctx: SlotContext,
  ectx: ErrorContext,
  message: string,
  hint: string,
  body = "",
): ProviderError {
  return new ProviderError({
    ...errorFromHttp(502, body, null, ctx.provider, ectx),
    kind: "server_error",
    message,
    hint,
  });
}

/**
 * Whether a parsed value nests arrays/objects more than `max` levels deep (iterative). Only an
 * error answer needs it: it is quoted in the error, and such a value would block the event loop
 * wherever it is serialised again. A successful answer is read only through the fields
 * `openAiEmbed`/`ollamaEmbed` check one by one (numbers, strings) and then dropped.
 */
export function nestsDeeper(value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof x === "object" && x !== null) stack.push([x, depth + 1]);
    }
  }
  return false;
}

/**
 * The answer's JSON, or undefined when it is not JSON. Not `parseUpstreamJson`: its character
 * scan for nesting before parsing cost more than JSON.parse itself on megabytes of numbers (the
 * Library's indexing profile: 115 ms of 490 ms busy for 1 270 chunks of 768 dimensions), and
 * V8's JSON.parse takes any nesting without recursing; the depth is checked where it matters
 * (`nestsDeeper`).
 */
function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An answer as it came: status, head and body bytes. */
interface Answer {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  ectx: ErrorContext;
}

/**
 * Posts `req` (model and inputs) to `path` and returns the answer unparsed; `req.received` fires
 * when the answer's head is in.
 */
async function postEmbed(ctx: SlotContext, path: string, req: EmbedRequest): Promise<Answer> {
  const url = `${path.startsWith("/api/") ? ctx.provider.baseUrl : ctx.provider.apiBase}${
    path.replace(/^\/v1/, "")
  }`;
  const ectx: ErrorContext = {
    url,
    inContainer: ctx.deps.inContainer,
    timeoutSeconds: EMBED_TIMEOUT_MS / 1000,
  };
  const opts = { signal: ctx.signal, timeoutMs: EMBED_TIMEOUT_MS };
  const { status, headers, bytes } = await timedCall(ctx.provider, ectx, opts, async (signal) => {
    const res = await ctx.deps.fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        ...authHeaders(ctx.provider),
      },
      body: JSON.stringify({ model: req.model, input: req.input }),
      signal,
    });
    // The head is in: the server has computed this answer, and the next request can go out
    // while its body is read (the awaits below let it) and parsed.
    req.received?.();
    const bytes = await readCapped(res, MAX_EMBED_BODY);
    if (bytes === null) {
      throw serverError(
        ctx,
        ectx,
        `${ctx.provider.record.displayName} at ${url} sent more than 64 MiB of embeddings`,
        "Lower the embedding batch size.",
      );
    }
    return { status: res.status, headers: res.headers, bytes };
  });
  return { status, headers, bytes, ectx };
}

/** The answer's JSON, parsed here; a failure status or an error body throws its typed error. */
function jsonOf(ctx: SlotContext, answer: Answer): unknown {
  const { status, headers, bytes, ectx } = answer;
  const text = new TextDecoder().decode(bytes);
  const json = parseAnswer(text);
  if (status >= 400 || isErrorBody(json)) {
    const quoted = nestsDeeper(json) ? undefined : json;
    throw new ProviderError(embedError(status, headers, quoted, text, ctx, ectx));
  }
  if (json === undefined || json === null) {
    throw serverError(
      ctx,
      ectx,
      `${ctx.provider.record.displayName} at ${ectx.url} answered without JSON`,
      "Check that the URL points at the embedding server's API.",
      text,
    );
  }
  return json;
}

/**
 * A large success answer parsed off the main thread (`embed_parse.ts`) when the caller takes
 * float32 vectors; null when it is for `jsonOf` and the inline checks (small, a failure status,
 * or any answer but the plain success shape, whose bytes are put back in `answer`).
 */
async function parsedOffThread(
  ctx: SlotContext,
  answer: Answer,
  shape: AnswerShape,
  req: EmbedRequest,
): Promise<EmbedResult | null> {
  if (!req.float32 || answer.status >= 400 || answer.bytes.byteLength < OFF_THREAD_MIN_BYTES) {
    return null;
  }
  let out: Awaited<ReturnType<typeof parseOffThread>>;
  try {
    out = await parseOffThread(answer.bytes, shape, req.input.length);
  } catch (e) {
    // The parser thread itself failed (never seen): retryable, as a dropped answer is.
    throw serverError(
      ctx,
      answer.ectx,
      `The embeddings answer from ${ctx.provider.record.displayName} could not be parsed: ${
        e instanceof Error ? e.message : String(e)
      }`,
      "Try again; if it persists, see deepstudio's log.",
    );
  }
  if (out instanceof Uint8Array) {
    answer.bytes = out;
    return null;
  }
  return { model: out.model ?? req.model, vectors: out.vectors, promptTokens: out.promptTokens };
}

function malformed(ctx: SlotContext, what: string): ProviderError {
  return serverError(
    ctx,
    { url: ctx.provider.apiBase, inContainer: false },
    `${ctx.provider.record.displayName} sent an embeddings answer without ${what}`,
    "Is the model an embedding model? In LM Studio pick one of type 'embedding' (e.g. text-embedding-nomic-embed-text-v1.5).",
  );
}

/** Every vector checked to be a non-empty list of numbers (nothing nested inside). */
function vectorsOf(values: unknown, count: number, ctx: SlotContext): number[][] {
  if (!Array.isArray(values) || values.length !== count) {
    throw malformed(ctx, `${count} vector${count === 1 ? "" : "s"}`);
  }
  for (const v of values) {
    if (!Array.isArray(v) || v.length === 0) throw malformed(ctx, "numeric vectors");
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== "number") throw malformed(ctx, "numeric vectors");
    }
  }
  return values as number[][];
}

const numberOr = (v: unknown) => typeof v === "number" ? v : undefined;

/** `POST /v1/embeddings` (OpenAI shape): vectors reordered by `index`. */
export async function openAiEmbed(ctx: SlotContext, req: EmbedRequest): Promise<EmbedResult> {
  const answer = await postEmbed(ctx, "/v1/embeddings", req);
  const fast = await parsedOffThread(ctx, answer, "openai", req);
  if (fast) return fast;
  const json = jsonOf(ctx, answer) as {
    data?: { embedding?: unknown; index?: number }[];
    model?: string;
    usage?: { prompt_tokens?: number };
  };
  if (!Array.isArray(json.data) || json.data.some((d) => typeof d !== "object" || d === null)) {
    throw malformed(ctx, "a data list");
  }
  const sorted = [...json.data].sort((a, b) => (numberOr(a.index) ?? 0) - (numberOr(b.index) ?? 0));
  return {
    model: typeof json.model === "string" ? json.model : req.model,
    vectors: vectorsOf(sorted.map((d) => d.embedding), req.input.length, ctx),
    promptTokens: numberOr(json.usage?.prompt_tokens),
  };
}

/** Ollama's native `POST /api/embed`. */
export async function ollamaEmbed(ctx: SlotContext, req: EmbedRequest): Promise<EmbedResult> {
  const answer = await postEmbed(ctx, "/api/embed", req);
  const fast = await parsedOffThread(ctx, answer, "ollama", req);
  if (fast) return fast;
  const json = jsonOf(ctx, answer) as {
    embeddings?: unknown;
    model?: string;
    prompt_eval_count?: number;
  };
  return {
    model: typeof json.model === "string" ? json.model : req.model,
    vectors: vectorsOf(json.embeddings, req.input.length, ctx),
    promptTokens: numberOr(json.prompt_eval_count),
  };
}
