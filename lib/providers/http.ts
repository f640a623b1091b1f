/**
 * Small JSON GETs outside the openai SDK (status probe, native model lists, greeting): bounded by
 * a timeout and the caller's signal, failures turned into `ProviderError`s naming the URL.
 */
import {
  cancelledError,
  connectionError,
  type ErrorContext,
  errorFromHttp,
  networkDetail,
  ProviderError,
  timeoutError,
} from "./errors.ts";
import { authHeaders } from "./resolve.ts";
import type { ResolvedProvider } from "./types.ts";

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
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
  const started = deps.now();
  try {
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
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text.trim() === "" ? undefined : JSON.parse(text);
    } catch { /* not JSON */ }
    return {
      url,
      status: res.status,
      headers: res.headers,
      contentType: res.headers.get("content-type") ?? "",
      text,
      json,
      latencyMs: deps.now() - started,
    };
  } catch (e) {
    if (opts.signal?.aborted) throw new ProviderError(cancelledError(provider, ctx));
    if (timeout.signal.aborted) throw new ProviderError(timeoutError(provider, ctx));
    throw new ProviderError(connectionError(provider, ctx, networkDetail(e)));
  } finally {
    clearTimeout(timer);
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
