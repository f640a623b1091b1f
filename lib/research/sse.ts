/**
 * Server-sent events for a run, as a plain ReadableStream (lib/ stays free of Hono). Frames are
 * `id: N`, `event: type`, `data: json`; a comment line goes out whenever nothing was written for
 * `heartbeatMs`, so proxies and browsers keep the connection and nobody stares at a dead socket.
 * The client going away only stops this reader: the run itself never depends on it.
 */
import type { RunEvent } from "./schema.ts";

/** Default heartbeat interval (spec: comments during silences of 15 s or more). */
export const DEFAULT_HEARTBEAT_MS = 15_000;

const encoder = new TextEncoder();

/** What an SSE frame carries (run events, Library events). */
export type SseEvent = Pick<RunEvent, "seq"> & { type: string; data: unknown };

/**
 * One SSE frame. JSON never contains a raw newline, so `data:` is always one line. An unstored
 * event (seq 0, e.g. a queue position) has no `id:`, so a reconnect resumes after the last stored.
 */
export function sseFrame(e: SseEvent): string {
  const id = e.seq ? `id: ${e.seq}\n` : "";
  return `${id}event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** Parses a Last-Event-ID header (or `?after=`) into a seq; junk counts as "from the start". */
export function parseLastEventId(value: string | null | undefined): number {
  if (!value) return 0;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * Streams `open(signal)`'s events as SSE. `signal` aborts when the client disconnects or the app
 * shuts down, which ends the iteration; a heartbeat comment covers silences.
 */
export function sseStream(
  open: (signal: AbortSignal) => AsyncIterable<SseEvent>,
  opts: { heartbeatMs: number; shutdown: AbortSignal },
): ReadableStream<Uint8Array> {
  // Not AbortSignal.any([stop.signal, opts.shutdown]): a signal derived from the app-long
  // shutdown signal is kept alive, with its listeners and all they hold, for as long as the
  // app runs (per the DOM spec, while it has abort listeners), one per SSE connection ever made.
  const stop = new AbortController();
  const signal = stop.signal;
  const onShutdown = () => stop.abort();
  if (opts.shutdown.aborted) stop.abort();
  else opts.shutdown.addEventListener("abort", onShutdown, { once: true });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const disarm = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Every write re-arms the heartbeat, so it only fires after a real silence.
      const write = (s: string) => {
        disarm();
        if (signal.aborted) return;
        try {
          controller.enqueue(encoder.encode(s));
        } catch { /* closed by the client */ }
        timer = setTimeout(() => write(": heartbeat\n\n"), opts.heartbeatMs);
      };
      write(": connected\n\n");
      (async () => {
        try {
          for await (const e of open(signal)) write(sseFrame(e));
        } catch { /* reader-side failure (e.g. KV closed at shutdown): just end the stream */ }
        disarm();
        opts.shutdown.removeEventListener("abort", onShutdown);
        try {
          controller.close();
        } catch { /* already cancelled */ }
      })();
    },
    cancel() {
      disarm();
      opts.shutdown.removeEventListener("abort", onShutdown);
      stop.abort();
    },
  });
}
