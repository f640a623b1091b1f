/**
 * Regression tests for the leak the soak found: every research event stream used to derive its
 * stop signal from the app-long shutdown signal with `AbortSignal.any`, and such a derived signal
 * (with its abort listeners and everything they hold) lives as long as its source does, so each
 * SSE connection ever made stayed in memory (~4 KB each; RSS +26 % over a 90 s soak). The stream
 * must now hand its shutdown listener back when it ends, whichever way it ends, and shutdown must
 * still end streams that are open.
 */
import type { RunEvent } from "../../lib/research/schema.ts";
import { sseStream } from "../../lib/research/sse.ts";
import { assertEquals, assertLessOrEqual } from "../assert.ts";

/** A real AbortSignal whose abort-listener registrations are counted. */
function countedShutdown() {
  const ctrl = new AbortController();
  const signal = ctrl.signal;
  let live = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  const seen = new Set<unknown>();
  signal.addEventListener = ((type: string, fn: EventListener, o?: unknown) => {
    if (type === "abort" && !seen.has(fn)) {
      seen.add(fn);
      live++;
    }
    add(type, fn, o as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, fn: EventListener, o?: unknown) => {
    if (type === "abort" && seen.delete(fn)) live--;
    remove(type, fn, o as EventListenerOptions);
  }) as typeof signal.removeEventListener;
  return { ctrl, signal, live: () => live };
}

/** Events that never come: the iteration ends when `signal` aborts (then `onStop` runs). */
function untilAbort(signal: AbortSignal, onStop = () => {}): AsyncIterable<RunEvent> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<RunEvent>>((resolve) => {
          const end = () => {
            onStop();
            resolve({ done: true, value: undefined });
          };
          if (signal.aborted) end();
          else signal.addEventListener("abort", end, { once: true });
        }),
    }),
  };
}

Deno.test("finished event streams are garbage: no memory kept per connection", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      new URL("./leak_probe.ts", import.meta.url).pathname,
      "200",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const { growthBytes } = JSON.parse(text);
  // 200 streams each holding ~100 KB: a leak keeps ~20 MB; a clean run keeps next to nothing.
  assertLessOrEqual(growthBytes, 4 * 1024 * 1024, `heap grew ${growthBytes} bytes`);
});

Deno.test("an event stream the client cancels releases the shutdown signal", async () => {
  const shutdown = countedShutdown();
  let stopped = false;
  const body = sseStream((signal) => untilAbort(signal, () => (stopped = true)), {
    heartbeatMs: 60_000,
    shutdown: shutdown.signal,
  });
  const reader = body.getReader();
  await reader.read(); // ": connected"
  await reader.cancel();
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(stopped, true, "the reader's source was told to stop");
  assertEquals(shutdown.live(), 0, "no listener left on the app's shutdown signal");
});

Deno.test("shutdown still ends an open event stream", async () => {
  const shutdown = countedShutdown();
  const body = sseStream((signal) => untilAbort(signal), {
    heartbeatMs: 60_000,
    shutdown: shutdown.signal,
  });
  const done = new Response(body).text();
  shutdown.ctrl.abort();
  assertEquals(await done, ": connected\n\n");
  assertEquals(shutdown.live(), 0);
});
