/**
 * The client's side of a relayed stream (lib/gateway/relay.ts): the upstream's chunks pass
 * through the stream guard (oversized and error events, the cut-stream event) and the usage
 * stripper into the client's body, chunk for chunk, pausing only while the client's queue is full.
 * It depends on nothing the upstream's answer says, so the relay builds it, and the Response a
 * 200 event stream gets, while the upstream works on the request (docs/decisions/
 * gateway-request-cost.md, fourth round); `start` hands it the upstream body.
 */
import { securedResponse } from "../http/security.ts";
import { isRawBody } from "../providers/http1_client.ts";
import { endsAtEventEnd } from "../providers/sse.ts";
import type { UpstreamError } from "../providers/types.ts";
import { errorEvent } from "./openai_error.ts";
import { createUsageStripper } from "./sse.ts";
import { createStreamGuard } from "./stream_guard.ts";

const NEW_EVENT = new TextEncoder().encode("\n\n");

/**
 * Bytes read per upstream read. Deno's default reader hands out a fresh 64 KiB buffer per read,
 * which for ~200-byte SSE frames means megabytes of short-lived external memory per second
 * (frequent GC, RSS growth); one reused buffer per relay and a right-sized copy avoid that. Each
 * open stream holds its buffer while waiting, so it is small: a larger event simply arrives in
 * several reads, which SSE clients handle like any TCP split.
 */
const READ_BUFFER = 4 * 1024;

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

/** What the client's side needs from the relay that owns the upstream request. */
export interface StreamSide {
  /** We added `include_usage`: hide the usage chunk again. */
  stripUsage: boolean;
  /** The server moves finish-chunk fields onto the usage chunk (llama.cpp's `timings`). */
  restoreFinishFields: boolean;
  /** Takes the provider's secrets out of an error event's text. */
  redact: (text: string) => string;
  /** The typed error for a failed read (timeout, client gone, or the error itself). */
  failure: (e: unknown) => UpstreamError;
  /** The request is over: stop the idle clock, drop the client's abort listener. */
  finish: () => void;
  /** Upstream bytes arrived. */
  touch: () => void;
  /** Waiting for a slow client is not upstream silence: the idle clock stops meanwhile… */
  pauseIdle: () => void;
  /** …and starts again when the client reads. */
  resumeIdle: () => void;
  /** The client went away: end the upstream request. */
  abortUpstream: () => void;
}

/** A stream's client side: its body, the Response a 200 event stream gets, and its start. */
export interface ClientStream {
  body: ReadableStream<Uint8Array>;
  /** Secure headers and `x-accel-buffering`; the relay adds the content type and Server-Timing. */
  response: Response;
  /** Starts relaying `upstreamBody` (once, when the answer is an event stream). */
  start(upstreamBody: ReadableStream<Uint8Array>): void;
}

/** Builds a stream's client side; nothing is read before `start`. */
export function createClientStream(side: StreamSide): ClientStream {
  const stripper = side.stripUsage
    ? createUsageStripper({ restoreFinishFields: side.restoreFinishFields })
    : null;
  const guard = createStreamGuard({
    redact: side.redact,
    cutEvent: () => errorEvent(side.failure(new SyntaxError(STREAM_CUT))),
  });
  let reader: ReturnType<typeof chunkReader>;
  let controller: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  let resume: (() => void) | null = null;
  const wake = () => {
    const r = resume;
    resume = null;
    r?.();
  };

  // Reads upstream as fast as it sends and hands each chunk on at once; pauses only while the
  // client's queue is full (a slow client), so memory stays bounded without holding frames back.
  async function pump() {
    let midEvent = false;
    for (;;) {
      let chunk: Uint8Array | null;
      let guarded: Uint8Array | null = null;
      try {
        chunk = await reader.read();
        if (chunk !== null) guarded = guard.push(chunk); // throws on an oversized event
      } catch (e) {
        const error = side.failure(e);
        side.finish();
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
        side.finish();
        // A stream that just stops (no [DONE], no error event) was cut or malformed: say so.
        const tail = guard.end();
        const last = tail && stripper ? stripper.push(tail) : tail;
        if (last) controller.enqueue(last);
        const rest = stripper?.flush();
        if (rest) controller.enqueue(rest);
        return close(controller);
      }
      side.touch();
      if (!guarded) continue;
      const out = stripper ? stripper.push(guarded) : guarded;
      if (!out) continue;
      midEvent = !endsAtEventEnd(out);
      controller.enqueue(out);
      if ((controller.desiredSize ?? 1) <= 0) {
        // Waiting for a slow client is not upstream silence: the idle clock stops meanwhile.
        side.pauseIdle();
        await new Promise<void>((r) => resume = r);
        if (cancelled) return;
        side.resumeIdle();
      }
    }
  }

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull: wake,
    cancel(reason) {
      cancelled = true;
      side.finish();
      side.abortUpstream();
      wake();
      reader?.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: QUEUE_CHUNKS });
  return {
    body,
    response: securedResponse(body, 200, { "x-accel-buffering": "no" }),
    /** Starts relaying `upstreamBody` (once, when the answer is an event stream). */
    start(upstreamBody: ReadableStream<Uint8Array>) {
      reader = chunkReader(upstreamBody);
      pump().catch((e) => {
        side.finish();
        try {
          controller.error(e);
        } catch { /* already closed */ }
      });
    },
  };
}

function close(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch { /* cancelled meanwhile */ }
}
