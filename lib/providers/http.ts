/**
 * Small JSON GETs outside the openai SDK (status probe, native model lists, greeting): bounded by
 * a timeout and the caller's signal, failures turned into `ProviderError`s naming the URL. Also the
 * caps on every read from an LLM server: whatever it sends, deepstudio holds at most a cap's worth
 * (a 300 MB error body once took the whole process down), and says so with a typed error.
 */
import { parseBoundedJson } from "../http/json_guard.ts";
import { readCapped } from "../net/read_capped.ts";
import { after } from "../timer.ts";
import {
  BodyTooLargeError,
  cancelledError,
  connectionError,
  type ErrorContext,
  errorFromHttp,
  networkDetail,
  ProviderError,
  timeoutError,
  toUpstreamError,
} from "./errors.ts";
import { authHeaders } from "./resolve.ts";
import type { ResolvedProvider } from "./types.ts";

/** Largest non-streamed answer (a completion, an embeddings batch) read from an LLM server. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** Largest error body, model list or probe answer: these are parsed and quoted, so smaller. */
export const MAX_SMALL_BYTES = 4 * 1024 * 1024;
/** Largest single event of a stream (chat chunks are a few hundred bytes). */
export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Reads an upstream body through the one capped reader; more than `max` bytes cancels the body
 * and throws `BodyTooLargeError` (mapped by `toUpstreamError` to "sent more than N MB").
 */
export async function readUpstream(
  res: Response,
  max: number,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  const bytes = await readCapped(res, max, onChunk);
  if (bytes === null) throw new BodyTooLargeError(max, "body", res.status);
  return bytes;
}

/** `readUpstream` decoded as UTF-8 text. */
export async function readUpstreamText(
  res: Response,
  max: number,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<string> {
  return new TextDecoder().decode(await readUpstream(res, max, onChunk));
}

/**
 * Parses upstream JSON text, or undefined when it is empty, not JSON, or nested deeper than any
 * real answer (such a value would block the event loop wherever it is serialised again).
 */
export function parseUpstreamJson(text: string): unknown {
  return parseBoundedJson(text);
}

/** What a non-SDK call needs. */
export interface HttpDeps {
  fetch: typeof fetch;
  now: () => number;
  inContainer: boolean;
}

/** An HTTP answer, read whole. `json` is undefined when the body is not JSON. */
export interface JsonAnswer {
  url: string;
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  json: unknown;
  latencyMs: number;
}

/**
 * GETs `url` with the provider's key (POSTs `opts.body` as JSON when given); throws
 * `ProviderError` on network failure or timeout.
 */
export async function getJson(
  deps: HttpDeps,
  provider: ResolvedProvider,
  url: string,
  opts: { signal?: AbortSignal; timeoutMs: number; body?: unknown },
): Promise<JsonAnswer> {
  const ctx: ErrorContext = {
    url,
    inContainer: deps.inContainer,
    timeoutSeconds: opts.timeoutMs / 1000,
  };
  const started = deps.now();
  return await timedCall(provider, ctx, opts, async (signal) => {
    const res = await deps.fetch(url, {
      ...(opts.body === undefined ? {} : { method: "POST", body: JSON.stringify(opts.body) }),
      headers: {
        accept: "application/json",
        ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
        ...authHeaders(provider),
      },
      signal,
    });
    ctx.responded = true;
    const text = await readUpstreamText(res, MAX_SMALL_BYTES);
    const json = parseUpstreamJson(text);
    return {
      url,
      status: res.status,
      headers: res.headers,
      contentType: res.headers.get("content-type") ?? "",
      text,
      json,
      latencyMs: deps.now() - started,
    };
  });
}

/**
 * Runs one non-streamed upstream call with a signal that fires on the caller's `signal` or after
 * `timeoutMs`. Whatever it throws leaves as a `ProviderError`: its own as they are, an over-cap
 * body as "sent more than N MB", then cancel, timeout, or the connection failure.
 */
export async function timedCall<T>(
  provider: ResolvedProvider,
  ectx: ErrorContext,
  opts: { signal?: AbortSignal; timeoutMs: number },
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = new AbortController();
  const stopTimer = after(opts.timeoutMs, () => timeout.abort());
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
  try {
    return await call(signal);
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    if (e instanceof BodyTooLargeError) throw new ProviderError(toUpstreamError(e, provider, ectx));
    if (opts.signal?.aborted) throw new ProviderError(cancelledError(provider, ectx));
    if (timeout.signal.aborted) throw new ProviderError(timeoutError(provider, ectx));
    throw new ProviderError(connectionError(provider, ectx, networkDetail(e)));
  } finally {
    stopTimer();
  }
}

/** True for a JSON object body carrying an `error` field (LM Studio's 200-with-error included). */
export function isErrorBody(json: unknown): boolean {
  return typeof json === "object" && json !== null && !Array.isArray(json) && "error" in json;
}

/** Throws the typed authentication error for a 401/403 answer (a native route needs the key too). */
export function failOnAuth(answer: JsonAnswer, provider: ResolvedProvider, deps: HttpDeps): void {
  if (answer.status === 401 || answer.status === 403) {
    throw new ProviderError(
      errorFromHttp(answer.status, answer.json ?? answer.text, answer.headers, provider, {
        url: answer.url,
        inContainer: deps.inContainer,
      }),
    );
  }
}
