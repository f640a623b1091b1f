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
import { bufferedBody, isRawBody } from "../providers/http1_client.ts";
import { authHeaders } from "../providers/resolve.ts";
import type { UpstreamError } from "../providers/types.ts";
import { CLIENT_CLOSED, errorEvent, fromUpstreamError } from "./openai_error.ts";
import type { ChatPlan } from "./request.ts";
import { createUsageStripper } from "./sse.ts";
import { createStreamGuard } from "./stream_guard.ts";
import { endsAtEventEnd } from "../providers/sse.ts";
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

const NEW_EVENT = new TextEncoder().encode("\n\n");
const DECODER = new TextDecoder();
/**
 * Bytes read per upstream read. Deno's default reader hands out a fresh 64 KiB buffer per read,
 * which for ~200-byte SSE frames means megabytes of short-lived external memory per second
 * (frequent GC, RSS growth); one reused buffer per relay and a right-sized copy avoid that. Each
 * open stream holds its buffer while waiting, so it is small: a larger event simply arrives in
 * several reads, which SSE clients handle like any TCP split.
 */
const READ_BUFFER = 4 * 1024;
/** Non-streamed JSON answers up to this size are checked for errors hidden in a 2xx. */
const MAX_CHECKED_DOCUMENT = 8 * 1024 * 1024;
/** The error event's detail when a stream ends without `[DONE]` or an error event. */
const STREAM_CUT = "the server's stream was cut or malformed";
/** Chunks queued toward the client before upstream reads pause (backpressure, not buffering). */
const QUEUE_CHUNKS = 8;

/** Reads upstream chunks: BYOB into one reused buffer when the body allows it. */
function chunkReader(body: ReadableStream<Uint8Array>, size = READ_BUFFER) {
  let byob: ReadableStreamBYOBReader | null = null;
  // The raw client's bodies are default streams (one chunk per socket read): asking them for a
  // BYOB reader would throw, and the TypeError's stack trace cost ~30 µs per stream.
  if (!isRawBody(body)) {
    try {
      byob = body.getReader({ mode: "byob" });
    } catch { /* not a byte stream (a test's hand-made body): default reads */ }
  }
  const plain = byob ? null : body.getReader();
  let buffer = new Uint8Array(byob ? size : 0);
  return {
    async read(): Promise<Uint8Array | null> {
      if (plain) {
        const r = await plain.read();
        return r.done ? null : r.value;
      }
      const r = await byob!.read(buffer);
      if (r.done || !r.value) return null;
      const out = r.value.slice();
      buffer = new Uint8Array(r.value.buffer);
      return out;
    },
    cancel(reason: unknown): Promise<void> {
      return (byob ?? plain!).cancel(reason);
    },
  };
}

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
 * Sends `plan` upstream and returns the response to give the client. `clientSignal` is the
 * incoming request's signal. Never throws: failures become OpenAI-format errors (before the
 * answer started) or an error event (inside a stream).
 */
export async function relayChat(
  deps: RelayDeps,
  plan: ChatPlan,
  opts: { clientSignal: AbortSignal; clock: RequestClock },
): Promise<Response> {
  const { clientSignal, clock } = opts;
  const { provider, timeoutMs } = plan;
  const now = deps.perfNow;
  const ectx: ErrorContext = {
    url: plan.url,
    inContainer: deps.inContainer,
    timeoutSeconds: timeoutMs / 1000,
  };
  const upstream = new AbortController();
  let timedOut = false;

  if (clientSignal.aborted) return new Response(null, { status: CLIENT_CLOSED });
  const onClientAbort = () => upstream.abort();
  // No `{ once: true }`: a signal aborts once, `finish` removes the listener, and an options
  // object costs a WebIDL dictionary conversion per request.
  clientSignal.addEventListener("abort", onClientAbort);
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

  const sentAt = now();
  let res: Response;
  try {
    res = await (deps.upstream ?? deps.fetch)(plan.url, {
      method: "POST",
      headers: requestHeaders(provider, plan.stream),
      body: plan.body,
      signal: upstream.signal,
    });
  } catch (e) {
    finish();
    clock.upstream += now() - sentAt;
    return errorResponse(failure(e), clock, now);
  }
  idle.touch();
  ectx.responded = true;
  clock.upstream += now() - sentAt;

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
  const stripper = plan.stripUsage
    ? createUsageStripper({ restoreFinishFields: plan.restoreFinishFields })
    : null;
  const guard = createStreamGuard({
    redact: (text) => redactSecrets(text, provider),
    cutEvent: () => errorEvent(failure(new SyntaxError(STREAM_CUT))),
  });
  const reader = chunkReader(res.body);
  let cancelled = false;
  let resume: (() => void) | null = null;
  const wake = () => {
    const r = resume;
    resume = null;
    r?.();
  };

  // Reads upstream as fast as it sends and hands each chunk on at once; pauses only while the
  // client's queue is full (a slow client), so memory stays bounded without holding frames back.
  async function pump(controller: ReadableStreamDefaultController<Uint8Array>) {
    let midEvent = false;
    for (;;) {
      let chunk: Uint8Array | null;
      let guarded: Uint8Array | null = null;
      try {
        chunk = await reader.read();
        if (chunk !== null) guarded = guard.push(chunk); // throws on an oversized event
      } catch (e) {
        const error = failure(e);
        finish();
        // An aborted signal alone does not always close the connection (seen with Deno's fetch
        // under many concurrent streams): cancelling the body does.
        reader.cancel(e).catch(() => {});
        if (cancelled || error.kind === "cancelled") return close(controller);
        // Inside a stream: say what happened as an error event, the way servers do (no [DONE]).
        if (midEvent) controller.enqueue(NEW_EVENT);
        controller.enqueue(errorEvent(error));
        return close(controller);
      }
      if (cancelled) return;
      if (chunk === null) {
        finish();
        // A stream that just stops (no [DONE], no error event) was cut or malformed: say so.
        const tail = guard.end();
        const last = tail && stripper ? stripper.push(tail) : tail;
        if (last) controller.enqueue(last);
        const rest = stripper?.flush();
        if (rest) controller.enqueue(rest);
        return close(controller);
      }
      idle.touch();
      if (!guarded) continue;
      const out = stripper ? stripper.push(guarded) : guarded;
      if (!out) continue;
      midEvent = !endsAtEventEnd(out);
      controller.enqueue(out);
      if ((controller.desiredSize ?? 1) <= 0) {
        // Waiting for a slow client is not upstream silence: the idle clock stops meanwhile.
        idle.stop();
        await new Promise<void>((r) => resume = r);
        if (cancelled) return;
        idle = deps.idle.watch(timeoutMs, onIdle);
      }
    }
  }

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      pump(controller).catch((e) => {
        finish();
        try {
          controller.error(e);
        } catch { /* already closed */ }
      });
    },
    pull: wake,
    cancel(reason) {
      cancelled = true;
      finish();
      upstream.abort();
      wake();
      reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: QUEUE_CHUNKS });
  return relayHeaders(res, body, clock, now);
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

function close(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch { /* cancelled meanwhile */ }
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
