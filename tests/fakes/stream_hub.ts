/**
 * The streamed-body machinery both fakes share: an SSE body driven by a producer, ended the way
 * the producer says (close, connection reset, or nothing once the client left), with client
 * cancels recorded as aborts and every open stream torn down when the fake closes.
 */
import type { RequestLog, RequestTracker } from "./recorder.ts";

/** How a producer wants its stream to end. */
export type StreamEnd = "close" | "reset" | "aborted";

/** Writes frames with `write` (false once the client has gone away) until it decides to end. */
export type Producer = (
  write: (s: string) => boolean,
  signal: AbortSignal,
) => Promise<StreamEnd>;

/** Streams of one fake server. */
export interface StreamHub {
  /** Aborted when the fake closes. */
  readonly closing: AbortSignal;
  /** A body driven by `produce`, tracked on `t`. */
  body(t: RequestTracker, produce: Producer): ReadableStream<Uint8Array>;
  /** Errors every open stream (the fake is closing). */
  closeAll(): void;
}

const encoder = new TextEncoder();

/** Builds the hub; `label` names the fake in the errors its streams end with. */
export function createStreamHub(log: RequestLog, label: string): StreamHub {
  const closing = new AbortController();
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>();

  function body(t: RequestTracker, produce: Producer): ReadableStream<Uint8Array> {
    let ctrl!: ReadableStreamDefaultController<Uint8Array>;
    let done = false;
    const end = new AbortController();
    const signal = AbortSignal.any([t.signal, end.signal, closing.signal]);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        ctrl = c;
        open.add(c);
      },
      cancel() {
        done = true;
        open.delete(ctrl);
        log.cancelled(t);
        end.abort();
      },
    });
    const write = (s: string) => {
      if (done || signal.aborted) return false;
      try {
        ctrl.enqueue(encoder.encode(s));
        return true;
      } catch {
        return false;
      }
    };
    t.streaming();
    (async () => {
      const how = await produce(write, signal).catch(() => "reset" as const);
      if (done) return;
      done = true;
      open.delete(ctrl);
      if (how === "close") {
        t.streamClosed();
        try {
          ctrl.close();
        } catch { /* already closed */ }
      } else if (how === "reset" || closing.signal.aborted) {
        t.streamClosed();
        try {
          ctrl.error(`${label}: connection reset mid-stream (fault mode)`);
        } catch { /* already errored */ }
      }
    })();
    return stream;
  }

  return {
    closing: closing.signal,
    body,
    closeAll() {
      closing.abort();
      for (const c of open) {
        try {
          c.error(`${label}: closing`);
        } catch { /* gone */ }
      }
      open.clear();
    },
  };
}
