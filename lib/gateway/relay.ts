/**
 * Forwards one planned chat request and relays the answer as it arrives. The upstream bytes are
 * handed on chunk for chunk (no buffering, no coalescing, no re-encoding); only when the usage
 * chunk has to be hidden are events looked at, and then untouched events keep their exact bytes.
 *
 * Three things end the upstream request early, in every phase (before its headers, during prompt
 * processing, mid-stream): the client's disconnect (Deno aborts the incoming request's signal and
 * cancels our response body), the idle timeout (`llm.request_timeout` of silence between upstream
 * bytes, the first one included), and nothing else: a stream that keeps producing is never cut.
 */
import {
  cancelledError,
  type ErrorContext,
  errorFromHttp,
  redactSecrets,
  timeoutError,
  toUpstreamError,
} from "../providers/errors.ts";
import {
  isErrorBody,
  MAX_ANSWER_BYTES,
  MAX_SMALL_BYTES,
  parseUpstreamJson,
  readUpstream,
  readUpstreamText,
} from "../providers/http.ts";
import { securedResponse } from "../http/security.ts";
import { bufferedBody } from "../providers/http1_client.ts";
import { authHeaders } from "../providers/resolve.ts";
import type { UpstreamError } from "../providers/types.ts";
import { CLIENT_CLOSED, fromUpstreamError } from "./openai_error.ts";
import type { ChatPlan } from "./request.ts";
import { createClientStream, type StreamSide } from "./relay_stream.ts";
import type { IdleWatcher } from "../providers/idle.ts";
import { type RequestClock, timingHeader } from "./timing.ts";

/** What relaying needs. */
export interface RelayDeps {
  fetch: typeof fetch;
  /**
   * Chat requests, streamed and not (lib/providers/http1_client.ts: http:// upstreams over a raw
   * HTTP/1.1 client, everything else on to fetch); `fetch` when not given.
   */
  upstream?: typeof fetch;
  /** Monotonic ms clock (Server-Timing). */
  perfNow: () => number;
  inContainer: boolean;
  /** The shared idle-timeout watcher. */
  idle: IdleWatcher;
}

const DECODER = new TextDecoder();
/** Non-streamed JSON answers up to this size are checked for errors hidden in a 2xx. */
const MAX_CHECKED_DOCUMENT = 8 * 1024 * 1024;

/** The request headers by provider (one object per settings version: providerFor caches it). */
const headersByProvider = new WeakMap<
  ChatPlan["provider"],
  { stream: Record<string, string>; document: Record<string, string> }
>();

/**
 * The upstream request's headers, the same frozen object for every request to one provider, so
 * the raw client (lib/providers/http1_client.ts) can keep their validated head lines per object.
 */
function requestHeaders(provider: ChatPlan["provider"], stream: boolean): Record<string, string> {
  let both = headersByProvider.get(provider);
  if (!both) {
    const make = (accept: string) =>
      Object.freeze({ "content-type": "application/json", accept, ...authHeaders(provider) });
    both = { stream: make("text/event-stream"), document: make("application/json") };
    headersByProvider.set(provider, both);
  }
  return stream ? both.stream : both.document;
}

/** An OpenAI-format error response with Server-Timing. */
export function errorResponse(
  error: UpstreamError,
  clock: RequestClock,
  perfNow: () => number,
): Response {
  const e = fromUpstreamError(error);
  return Response.json(e.body, {
    status: e.status,
    headers: { ...e.headers, "server-timing": timingHeader(clock, perfNow()) },
  });
}

/**
 * Sends `plan` upstream and returns the response to give the client. Never throws: failures
 * become OpenAI-format errors (before the answer started) or an error event (inside a stream).
 */
export async function relayChat(
  deps: RelayDeps,
  plan: ChatPlan,
  opts: {
    /** The incoming request's signal, asked for once the request is on its way upstream. */
    clientSignal: () => AbortSignal;
    /** That signal if it was made already (planning waited with it): aborted, nothing is sent. */
    madeSignal?: AbortSignal;
    clock: RequestClock;
  },
): Promise<Response> {
  const { clock } = opts;
  const { provider, timeoutMs } = plan;
  const now = deps.perfNow;
  const ectx: ErrorContext = {
    url: plan.url,
    inContainer: deps.inContainer,
    timeoutSeconds: timeoutMs / 1000,
  };
  const upstream = new AbortController();
  let timedOut = false;

  if (opts.madeSignal?.aborted) return new Response(null, { status: CLIENT_CLOSED });
  const sentAt = now();
  let sending: Promise<Response>;
  try {
    sending = (deps.upstream ?? deps.fetch)(plan.url, {
      method: "POST",
      headers: requestHeaders(provider, plan.stream),
      body: plan.body,
      signal: upstream.signal,
    });
  } catch (e) {
    sending = Promise.reject(e);
  }
  // The request is on its way (the raw client, lib/providers/http1_client.ts, has written it
  // when the call returns): what follows until the `await` runs while the upstream works on it,
  // not before the upstream sees the request. Nothing can abort the client's signal or reach the
  // idle timeout in between (the same synchronous run).
  const prepAt = now();
  const clientSignal = opts.clientSignal();
  const onClientAbort = () => upstream.abort();
  // No `{ once: true }`: a signal aborts once, `finish` removes the listener, and an options
  // object costs a WebIDL dictionary conversion per request.
  clientSignal.addEventListener("abort", onClientAbort);
  if (clientSignal.aborted) upstream.abort(); // gone before the listener was there
  const onIdle = () => {
    timedOut = true;
    upstream.abort();
  };
  let idle = deps.idle.watch(timeoutMs, onIdle);
  const finish = () => {
    idle.stop();
    clientSignal.removeEventListener("abort", onClientAbort);
  };
  const failure = (e: unknown): UpstreamError =>
    timedOut
      ? timeoutError(provider, ectx)
      : clientSignal.aborted
      ? cancelledError(provider, ectx)
      : toUpstreamError(e, provider, ectx);

  // A streamed request's client side (guard, stripper, the client's stream and its Response)
  // depends on nothing the answer says as long as it is a 200 event stream, the usual answer.
  const side = (): StreamSide => ({
    stripUsage: plan.stripUsage,
    restoreFinishFields: plan.restoreFinishFields,
    redact: (text) => redactSecrets(text, provider),
    failure,
    finish,
    touch: () => idle.touch(),
    pauseIdle: () => idle.stop(),
    resumeIdle: () => {
      idle = deps.idle.watch(timeoutMs, onIdle);
    },
    abortUpstream: () => upstream.abort(),
  });
  const early = plan.stream ? createClientStream(side()) : null;
  /** Our own work done while the upstream worked: it is deepstudio's time, not the upstream's. */
  const prepMs = now() - prepAt;
  let res: Response;
  try {
    res = await sending;
  } catch (e) {
    finish();
    clock.upstream += now() - sentAt - prepMs;
    return errorResponse(failure(e), clock, now);
  }
  idle.touch();
  ectx.responded = true;
  clock.upstream += now() - sentAt - prepMs;

  if (!res.ok || !res.body) {
    let text = "";
    try {
      text = await readUpstreamText(res, MAX_SMALL_BYTES, () => idle.touch());
    } catch (e) {
      finish();
      return errorResponse(failure(e), clock, now);
    }
    finish();
    if (res.ok) return relayHeaders(res, null, clock, now); // 2xx without a body: nothing to relay
    const json = parseUpstreamJson(text); // undefined when not JSON: the text itself is quoted
    return errorResponse(
      errorFromHttp(res.status, json ?? text, res.headers, provider, ectx),
      clock,
      now,
    );
  }

  const sse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
  if (!sse) {
    return await relayDocument(res, {
      finish,
      failure,
      // Given `res` rather than closing over it: a closure naming `res` would keep the upstream
      // Response (its head and Headers) alive in this scope for every stream's whole life.
      errorBody: (r, json) => errorFromHttp(r.status, json, r.headers, provider, ectx),
      touch: () => idle.touch(),
      clock,
      now,
    });
  }
  const stream = early ?? createClientStream(side());
  stream.start(res.body);
  if (res.status === 200) {
    // Built while waiting: only what the answer decides is added now.
    const headers = stream.response.headers;
    headers.append("content-type", res.headers.get("content-type")!);
    headers.append("server-timing", timingHeader(clock, now()));
    return stream.response;
  }
  return relayHeaders(res, stream.body, clock, now);
}

/**
 * A non-streamed answer is one JSON document, useless to a client until complete, so it is read
 * whole (idle timeout and disconnect still apply to every read) and then sent as the same bytes.
 * Reading it first is what lets an error hidden in a 200 (LM Studio answers unknown routes with
 * `200 {"error": ...}`) become a proper error status instead of a "completion" without choices.
 */
async function relayDocument(
  res: Response,
  o: {
    finish: () => void;
    failure: (e: unknown) => UpstreamError;
    /** The typed error for an error body that came with a 2xx. */
    errorBody: (res: Response, json: unknown) => UpstreamError;
    touch: () => void;
    clock: RequestClock;
    now: () => number;
  },
): Promise<Response> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    // Came whole with the head over the raw client (within its read buffer: under the cap).
    bytes = (bufferedBody(res) ??
      await readUpstream(res, MAX_ANSWER_BYTES, o.touch)) as Uint8Array<ArrayBuffer>;
  } catch (e) {
    // No cancel here: the capped reader cancels an over-cap body itself, a failed read has
    // already ended it, and the body stays locked to that reader (a cancel would be refused).
    o.finish();
    return errorResponse(o.failure(e), o.clock, o.now);
  }
  o.finish();
  const size = bytes.length;
  if ((res.headers.get("content-type") ?? "").includes("json") && size <= MAX_CHECKED_DOCUMENT) {
    let json: unknown;
    try {
      json = JSON.parse(DECODER.decode(bytes));
    } catch {
      const what = size === 0 ? "empty body" : "the JSON body was cut short or is not JSON";
      return errorResponse(o.failure(new SyntaxError(what)), o.clock, o.now);
    }
    if (isErrorBody(json) && !(json as { choices?: unknown }).choices) {
      return errorResponse(o.errorBody(res, json), o.clock, o.now);
    }
  }
  return relayHeaders(res, bytes, o.clock, o.now);
}

function relayHeaders(
  res: Response,
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null,
  clock: RequestClock,
  now: () => number,
): Response {
  const type = res.headers.get("content-type") ?? "application/json";
  const headers: Record<string, string> = {
    "content-type": type,
    "server-timing": timingHeader(clock, now()),
  };
  // Reverse proxies (nginx) would otherwise hold events back. (`cache-control: no-store`, which
  // every API answer carries, is added with the secure headers.)
  if (type.includes("text/event-stream")) headers["x-accel-buffering"] = "no";
  return securedResponse(body, res.status, headers);
}
