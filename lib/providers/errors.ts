/**
 * The one mapping from upstream failures to the typed `UpstreamError` of docs/providers.md
 * ("Errors"): openai SDK error classes (most specific first), fetch failures, HTTP statuses, and
 * every error body shape in the transcripts (`error` as a string or an object, llama.cpp's
 * `exceed_context_size_error` with numbers, errors inside a stream, LM Studio's
 * 200-with-error-body). Messages name the provider and the actual URL; hints say what to do;
 * secrets are scrubbed from anything a server echoed back.
 */
import { dockerLoopbackHint } from "../hints/docker.ts";
import { loadedSdk } from "./sdk.ts";
import type { FamilyHints } from "./adapter.ts";
import { ANSWER_ROOM, fitContext } from "./context_advice.ts";
import type { ResolvedProvider, UpstreamError, UpstreamErrorKind } from "./types.ts";
import { isLoopbackUrl } from "./url.ts";

/** An `UpstreamError` as something throwable, so library functions can fail with a typed error. */
export class ProviderError extends Error {
  constructor(readonly error: UpstreamError) {
    super(error.message);
    this.name = "ProviderError";
  }
}

/** Where the failure happened: the URL actually called, and whether we run in a container. */
export interface ErrorContext {
  url: string;
  inContainer: boolean;
  /** The idle timeout in seconds, for timeout messages. */
  timeoutSeconds?: number;
  /**
   * True once the server answered (headers or bytes arrived): a later failure is not about
   * reaching the address, so it never gets the container/loopback hint.
   */
  responded?: boolean;
}

/** Titles per kind (docs/providers.md, "Errors"). */
export const ERROR_TITLES: Record<UpstreamErrorKind, string> = {
  connection: "LLM Connection Error",
  timeout: "LLM Timeout Error",
  token_limit: "Token Limit Exceeded",
  rate_limit: "API Rate Limit Reached",
  authentication: "Authentication Error",
  model_not_found: "Model Not Available",
  bad_request: "Request Rejected",
  server_error: "Server Error",
  cancelled: "Stopped",
};

/** What an error body says, whatever its shape. */
interface BodyInfo {
  message: string;
  type?: string;
  code?: string;
  promptTokens?: number;
  contextLength?: number;
}

const MAX_SERVER_MESSAGE = 400;

/**
 * The single entry point: any thrown value (SDK error, fetch error, ProviderError, abort) to a
 * typed error. `opts.status/body/headers` describe an HTTP answer already read by the caller.
 */
export function toUpstreamError(
  err: unknown,
  provider: ResolvedProvider,
  opts: ErrorContext & { status?: number; body?: unknown; headers?: Headers | null },
): UpstreamError {
  if (err instanceof ProviderError) return err.error;
  const tooLarge = tooLargeIn(err);
  if (tooLarge) return tooLargeError(tooLarge, provider, opts);
  const sdk = loadedSdk(); // not loaded: no SDK error can exist
  if (sdk) {
    const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = sdk;
    // SDK classes, most specific first: an abort is an APIError subclass too.
    if (err instanceof APIUserAbortError) return cancelledError(provider, opts);
    const cause = (err as { cause?: unknown } | null)?.cause;
    if (err instanceof APIError && cause instanceof ProviderError) return cause.error;
    if (err instanceof APIConnectionTimeoutError) return timeoutError(provider, opts);
    if (err instanceof APIConnectionError) {
      if (isAbort(cause)) return cancelledError(provider, opts);
      return connectionError(provider, opts, networkDetail(cause ?? err));
    }
    if (err instanceof APIError) {
      const headers = err.headers instanceof Headers ? err.headers : null;
      const body = err.error === undefined ? err.message : { error: err.error };
      // No status: the error arrived inside a stream (`data: {"error":{...}}`).
      return errorFromBody(body, provider, { ...opts, status: err.status, headers });
    }
  }
  if (err instanceof DOMException || (err instanceof Error && err.name === "TimeoutError")) {
    if ((err as Error).name === "TimeoutError") return timeoutError(provider, opts);
    if ((err as Error).name === "AbortError") return cancelledError(provider, opts);
  }
  if (err instanceof SyntaxError) {
    return build("server_error", provider, opts, {
      message: `${where(provider, opts)} sent a malformed response (${
        err.message.replace(/^Error reading response: /, "")
      })`,
      hint: "The answer was cut or garbled; retry. If it keeps happening, check the server's log.",
    });
  }
  if (opts.status !== undefined) {
    return errorFromHttp(opts.status, opts.body, opts.headers ?? null, provider, opts);
  }
  if (err instanceof TypeError) return connectionError(provider, opts, networkDetail(err));
  const text = err instanceof Error ? err.message : String(err);
  return build("server_error", provider, opts, {
    message: `${where(provider, opts)} failed: ${scrub(text, provider)}`,
    hint: "Retry; if it keeps happening, check the server's log.",
  });
}

/**
 * An HTTP answer that is an error (any status, or a 200 whose body is `{"error": ...}`), for
 * fetches made without the SDK (status probe, native model lists, the /v1 gateway).
 */
export function errorFromHttp(
  status: number,
  body: unknown,
  headers: Headers | null,
  provider: ResolvedProvider,
  opts: ErrorContext,
): UpstreamError {
  return errorFromBody(body, provider, { ...opts, status, headers });
}

/** Classifies an error body; `status` undefined means "inside a stream". */
export function errorFromBody(
  body: unknown,
  provider: ResolvedProvider,
  opts: ErrorContext & { status?: number; headers?: Headers | null },
): UpstreamError {
  const info = describeBody(body);
  const status = opts.status;
  const serverMessage = scrub(info.message, provider);
  const quoted = serverMessage ? `: ${serverMessage}` : "";
  const statusText = status === undefined ? "inside the stream" : `(HTTP ${status})`;
  const base = where(provider, opts);
  const extra = { status };

  const overflow = tokenLimitInfo(info);
  if (overflow) {
    const sizes = overflow.promptTokens !== undefined && overflow.contextLength !== undefined
      ? `prompt ≈ ${overflow.promptTokens} tokens vs loaded context ${overflow.contextLength}`
      : overflow.contextLength !== undefined
      ? `loaded context ${overflow.contextLength} tokens`
      : "";
    return build("token_limit", provider, opts, {
      ...extra,
      ...overflow,
      message: `${base} could not fit the prompt into the model's context${
        sizes ? ` (${sizes})` : ""
      }${sizes ? "" : quoted}`,
      hint: sizedTokenLimitHint(provider, overflow.promptTokens),
    });
  }
  if (status === 401 || status === 403) {
    return build("authentication", provider, opts, {
      ...extra,
      message: provider.keySet
        ? `${base} refused the API key ${statusText}${quoted}`
        : `${base} requires an API key and none is set ${statusText}${quoted}`,
      hint: hints(provider).auth(provider),
    });
  }
  if (status === 429 || info.type === "rate_limit_error" || info.code === "rate_limit_exceeded") {
    const retryAfter = parseRetryAfter(opts.headers ?? null);
    return build("rate_limit", provider, opts, {
      ...extra,
      retryAfter,
      message: `${base} is rate-limiting requests ${statusText}${quoted}`,
      hint: retryAfter !== undefined
        ? `Wait ${retryAfter} s (the server's retry-after), then retry.`
        : "Wait a moment, then retry.",
    });
  }
  if (isModelProblem(status, info)) {
    return build("model_not_found", provider, opts, {
      ...extra,
      message: `${base} has no usable model ${statusText}${quoted}`,
      hint: hints(provider).modelNotFound,
    });
  }
  if (
    /unexpected endpoint or method/i.test(info.message) || status === 404 ||
    (status !== undefined && status < 300)
  ) {
    return build("bad_request", provider, opts, {
      ...extra,
      message: `${base} does not know this endpoint ${statusText}${quoted}`,
      hint: `Check the server URL: use the base address only (e.g. ${
        provider.record.defaultUrl || "http://localhost:8000"
      }); deepstudio adds /v1 itself.`,
    });
  }
  if (status === 503 && /loading/i.test(info.message)) {
    return build("server_error", provider, opts, {
      ...extra,
      message: `${base} is still loading the model ${statusText}${quoted}`,
      hint: "Wait until the model has loaded, then retry.",
    });
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return build("bad_request", provider, opts, {
      ...extra,
      message: `${base} rejected the request ${statusText}${quoted}`,
      hint: "The server's message says what it refused; change that option and retry.",
    });
  }
  return build("server_error", provider, opts, {
    ...extra,
    message: `${base} reported an error ${statusText}${quoted}`,
    hint: "The server failed while answering; check its log, then retry.",
  });
}

/** The person stopped the request. */
export function cancelledError(provider: ResolvedProvider, opts: ErrorContext): UpstreamError {
  return build("cancelled", provider, opts, {
    message: `Stopped: the request to ${where(provider, opts)} was cancelled`,
    hint: "",
  });
}

/** No byte arrived within the idle timeout. */
export function timeoutError(provider: ResolvedProvider, opts: ErrorContext): UpstreamError {
  const seconds = opts.timeoutSeconds;
  return build("timeout", provider, opts, {
    message: `${where(provider, opts)} sent nothing for ${
      seconds !== undefined ? `${seconds} s` : "too long"
    }`,
    hint:
      "The server may be loading a model or be overloaded: retry, or raise Settings → Request timeout (s) (llm.request_timeout).",
  }, !opts.responded);
}

/** The server could not be reached (refused, DNS, reset), or dropped the connection mid-answer. */
export function connectionError(
  provider: ResolvedProvider,
  opts: ErrorContext,
  detail: string,
): UpstreamError {
  if (/mid-response/.test(detail)) {
    return build("connection", provider, opts, {
      message: `Lost the connection to ${where(provider, opts)} (${detail})`,
      hint:
        `${provider.record.displayName} closed the connection while answering (it may have crashed, been stopped, or unloaded the model); the text so far is kept. Retry.`,
    });
  }
  // A TLS failure means something answered at that address: not a reachability problem.
  return build("connection", provider, opts, {
    message: `Could not connect to ${where(provider, opts)}${detail ? ` (${detail})` : ""}`,
    hint: hints(provider).start(provider),
  }, !opts.responded && !/TLS/.test(detail));
}

/** No model chosen and the server cannot choose one for us. */
export function noModelError(
  provider: ResolvedProvider,
  opts: ErrorContext,
  loaded: string[],
): UpstreamError {
  const name = provider.record.displayName;
  const message = loaded.length === 0
    ? `No model selected and ${name} at ${opts.url} has no chat model loaded`
    : `No model selected and ${name} at ${opts.url} has ${loaded.length} loaded (${
      loaded.join(", ")
    }): pick one`;
  return build("model_not_found", provider, opts, {
    message,
    hint: loaded.length === 0
      ? provider.record.local
        ? `Pick a model on the Research page (${name} loads it), or load one in ${name}.`
        : "Pick the model to use on the Research page or in Settings → Model."
      : "Pick one of them on the Research page or in Settings → Model.",
  });
}

/** The provider's family cannot do `what` (e.g. "load models on request"). */
export function unsupportedError(provider: ResolvedProvider, what: string): UpstreamError {
  return {
    kind: "bad_request",
    title: ERROR_TITLES.bad_request,
    message: `${provider.record.displayName} cannot ${what} through deepstudio`,
    hint: "Use a provider that can (see the Status page), or do it in the server's own tools.",
    provider: provider.record.id,
    url: provider.baseUrl,
  };
}

/** The provider has no usable URL (openai_endpoint left empty, or an invalid value). */
export function notConfiguredError(provider: ResolvedProvider): UpstreamError {
  const setting = provider.record.urlSetting ?? "the URL";
  return {
    kind: "bad_request",
    title: ERROR_TITLES.bad_request,
    message: `${provider.record.displayName} has no server URL configured`,
    hint: `Set ${setting} to the server's address (e.g. http://localhost:8000).`,
    provider: provider.record.id,
    url: "",
  };
}

/** The URL to use from inside a container instead of a loopback one (docs/providers.md, "Docker"). */
export function dockerUrl(url: string): string | null {
  if (!isLoopbackUrl(url)) return null;
  try {
    const u = new URL(url);
    u.hostname = "host.docker.internal";
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

/**
 * The Docker loopback hint (docs/providers.md, "Docker"; worded per server in
 * lib/hints/docker.ts), or "" when it does not apply.
 */
export function dockerHint(url: string, inContainer: boolean, providerId = "lmstudio"): string {
  if (!inContainer) return "";
  const target = dockerUrl(url);
  if (!target) return "";
  return dockerLoopbackHint(providerId, url, target);
}

/**
 * One typed error. `unreachable` marks failures that mean "cannot reach that address" (refused,
 * DNS, a connect that timed out): only those get the container/loopback hint, never a failure
 * after the server answered, nor auth, model or context errors.
 */
function build(
  kind: UpstreamErrorKind,
  provider: ResolvedProvider,
  opts: ErrorContext,
  parts: Partial<UpstreamError> & { message: string; hint: string },
  unreachable = false,
): UpstreamError {
  const docker = unreachable
    ? dockerHint(opts.url || provider.baseUrl, opts.inContainer, provider.record.id)
    : "";
  const out: UpstreamError = {
    kind,
    title: ERROR_TITLES[kind],
    provider: provider.record.id,
    url: opts.url,
    ...parts,
    message: scrub(parts.message, provider),
    hint: docker ? (parts.hint ? `${parts.hint} ${docker}` : docker) : parts.hint,
  };
  if (docker) out.suggestedUrl = dockerUrl(opts.url || provider.baseUrl) ?? undefined;
  for (const k of Object.keys(out) as (keyof UpstreamError)[]) {
    if (out[k] === undefined) delete out[k];
  }
  return out;
}

/**
 * The token-limit hint with the size to ask for when the server said how big the prompt was:
 * prompt plus answer room, rounded up to a standard size (context_advice.ts), in the family's
 * words. /v1 clients read this as text; research runs also get a one-click action.
 */
function sizedTokenLimitHint(provider: ResolvedProvider, promptTokens?: number): string {
  if (promptTokens === undefined) return hints(provider).tokenLimit;
  const needed = promptTokens + ANSWER_ROOM;
  const { contextLength } = fitContext(needed, null);
  return `Load the model with a larger context length: the prompt needs about ${needed} tokens with room for the answer, so ${contextLength}. ${
    hints(provider).context("<model>", contextLength)
  } Or shorten the input.`;
}

function hints(provider: ResolvedProvider): FamilyHints {
  return provider.record.adapter.hints;
}

function where(provider: ResolvedProvider, opts: ErrorContext): string {
  return `${provider.record.displayName} at ${opts.url || provider.baseUrl}`;
}

/** Removes the configured key (and bearer-looking tokens) from text a server sent back. */
export function scrub(text: string, provider: ResolvedProvider): string {
  const out = redactSecrets(text, provider);
  return out.length > MAX_SERVER_MESSAGE ? `${out.slice(0, MAX_SERVER_MESSAGE)}…` : out;
}

/**
 * `scrub` without the length cap, for text relayed whole (a /v1 stream's error event): the key,
 * `Bearer …` values and `sk-…` keys become `***`; everything else, JSON syntax included, stays.
 */
export function redactSecrets(text: string, provider: ResolvedProvider): string {
  let out = text;
  if (provider.keySet && provider.apiKey && provider.apiKey.length >= 4) {
    out = out.split(provider.apiKey).join("***");
  }
  out = out.replace(/(Bearer\s+)(?!\$)[^\s'"\\]+/gi, "$1***");
  return out.replace(/\bsk-[A-Za-z0-9_\-:.]{6,}/g, "sk-***");
}

/**
 * Thrown by the capped reader (lib/providers/http.ts) when an upstream body, or one event of a
 * stream, passes its cap; `status` is the HTTP status it came with.
 */
export class BodyTooLargeError extends Error {
  constructor(
    readonly maxBytes: number,
    readonly scope: "body" | "event",
    readonly status?: number,
  ) {
    super(`more than ${maxBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The typed error for a body that passed its cap: the status decides the kind. */
function tooLargeError(
  err: BodyTooLargeError,
  provider: ResolvedProvider,
  opts: ErrorContext,
): UpstreamError {
  const mb = Math.round(err.maxBytes / (1024 * 1024));
  const client = err.status !== undefined && err.status >= 400 && err.status < 500;
  return build(client ? "bad_request" : "server_error", provider, opts, {
    message: `${where(provider, opts)} sent more than ${mb} MB${
      err.scope === "event" ? " in one stream event" : ""
    }${
      err.status && err.status >= 400 ? ` with HTTP ${err.status}` : ""
    }; deepstudio stopped reading it`,
    hint:
      "No LLM answer or error is that large: check that the URL points at the LLM server itself, and the server's log.",
  });
}

/** The BodyTooLargeError in `err` or its causes (the SDK wraps what its fetch throws). */
function tooLargeIn(err: unknown): BodyTooLargeError | null {
  for (let e = err, depth = 0; e && depth < 4; depth++) {
    if (e instanceof BodyTooLargeError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

function isAbort(e: unknown): boolean {
  const sdk = loadedSdk();
  return e instanceof Error &&
    (e.name === "AbortError" || (sdk !== null && e instanceof sdk.APIUserAbortError));
}

/** A short human reading of a network failure. */
export function networkDetail(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    if (e instanceof Error) parts.push(e.message);
    e = (e as { cause?: unknown })?.cause;
  }
  const text = parts.join(" ");
  if (/refused/i.test(text)) return "connection refused";
  if (/dns|lookup|not known|resolve|ENOTFOUND|no such host/i.test(text)) {
    return "host name not found";
  }
  if (/reset|body from connection|closed|incomplete|unexpected end|EOF/i.test(text)) {
    return "the connection was closed mid-response";
  }
  if (/certificate|tls|ssl/i.test(text)) return "TLS handshake failed";
  return "";
}

function num(v: unknown): number | undefined {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/** Pulls message/type/code and token numbers out of any error body shape. */
function describeBody(body: unknown): BodyInfo {
  if (body === null || body === undefined) return { message: "" };
  if (typeof body === "string") {
    const t = body.trim();
    if (t.startsWith("{")) {
      try {
        return describeBody(JSON.parse(t));
      } catch { /* not JSON */ }
    }
    if (/^<(!doctype|html)/i.test(t)) return { message: "the server answered with an HTML page" };
    return { message: t.slice(0, MAX_SERVER_MESSAGE) };
  }
  if (typeof body !== "object") return { message: String(body) };
  const b = body as Record<string, unknown>;
  const inner = b.error ?? b.detail ?? b;
  if (typeof inner === "string") return { message: inner };
  if (inner && typeof inner === "object") {
    const e = inner as Record<string, unknown>;
    const message = typeof e.message === "string"
      ? e.message
      : typeof e.msg === "string"
      ? e.msg
      : typeof b.message === "string"
      ? b.message
      : JSON.stringify(inner).slice(0, MAX_SERVER_MESSAGE);
    return {
      message,
      type: typeof e.type === "string" ? e.type : undefined,
      code: e.code !== undefined && e.code !== null ? String(e.code) : undefined,
      promptTokens: num(e.n_prompt_tokens),
      contextLength: num(e.n_ctx),
    };
  }
  return { message: "" };
}

const OVERFLOW_NUMBERS: { re: RegExp; order: "pc" | "cp" }[] = [
  {
    re:
      /trying to keep the first (\d+) tokens when context the overflows.*?context length of only (\d+) tokens/is,
    order: "pc",
  },
  { re: /n_keep \((\d+)\)\s*>=\s*n_ctx \((\d+)\)/i, order: "pc" },
  {
    re: /request \((\d+) tokens\) exceeds the available context size \((\d+) tokens\)/i,
    order: "pc",
  },
  {
    re: /maximum context length is (\d+) tokens.*?(?:resulted in|requested) (\d+) tokens/is,
    order: "cp",
  },
];

const OVERFLOW_TEXT =
  /tokens to keep from the initial prompt is greater than the context length|context the overflows|n_keep|exceed_context_size_error|context size has been exceeded|exceeds the available context size|context_length_exceeded|context length|too many tokens|token limit/i;

/**
 * Recognises context overflow (docs/providers.md, "Errors") and extracts prompt size vs loaded
 * context when given.
 */
export function tokenLimitInfo(
  info: BodyInfo,
): { promptTokens?: number; contextLength?: number } | null {
  const text = `${info.message} ${info.type ?? ""} ${info.code ?? ""}`;
  if (!OVERFLOW_TEXT.test(text)) return null;
  for (const { re, order } of OVERFLOW_NUMBERS) {
    const m = re.exec(info.message);
    if (m) {
      const [a, b] = [Number(m[1]), Number(m[2])];
      return order === "pc"
        ? { promptTokens: info.promptTokens ?? a, contextLength: info.contextLength ?? b }
        : { promptTokens: info.promptTokens ?? b, contextLength: info.contextLength ?? a };
    }
  }
  const out: { promptTokens?: number; contextLength?: number } = {};
  if (info.promptTokens !== undefined) out.promptTokens = info.promptTokens;
  if (info.contextLength !== undefined) out.contextLength = info.contextLength;
  return out;
}

function isModelProblem(status: number | undefined, info: BodyInfo): boolean {
  if (info.code === "model_not_found" || /no models loaded/i.test(info.message)) return true;
  if (status !== 404 && status !== 400) return false;
  return /\bmodel\b.*\b(not found|does not exist|not loaded|unknown)|\b(unknown|invalid) model\b/i
    .test(info.message);
}

function parseRetryAfter(headers: Headers | null): number | undefined {
  const raw = headers?.get("retry-after");
  if (!raw) return undefined;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : undefined;
}

/**
 * A prompt deepstudio measured as too large for the model's context before sending it (research
 * steps budget every prompt first): the same `token_limit` kind, title and numbers a server's own
 * overflow error carries, so the report and any reload action treat both alike.
 */
export function promptTooLargeError(
  provider: ResolvedProvider,
  opts: ErrorContext & { what: string; model: string; promptTokens: number; contextLength: number },
): UpstreamError {
  return build("token_limit", provider, opts, {
    message:
      `The ${opts.what} needs about ${opts.promptTokens} tokens, but ${opts.model} on ${provider.record.displayName} (${
        opts.url || provider.baseUrl
      }) has a context of ${opts.contextLength} tokens, which leaves no room for an answer`,
    hint:
      "Reload the model with a larger context length (LM Studio: model settings → Context Length) or ask a shorter question",
    promptTokens: opts.promptTokens,
    contextLength: opts.contextLength,
  });
}
