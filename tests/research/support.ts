/**
 * Research test scaffolding: a fake LM Studio plus the app on a real socket pointed at it, an SSE
 * reader over fetch (as the browser reads it), and polling helpers that wait on observable state.
 */
import type { AppConfig } from "../../lib/config.ts";
import { migrate } from "../../lib/kv/migrations.ts";
import { createApp } from "../../app.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { applyTextOp, type TextOp } from "../../lib/research/text_ops.ts";
import {
  type FakeLmStudio,
  type FakeLmStudioOptions,
  startFakeLmStudio,
} from "../fakes/lmstudio.ts";
import { serve } from "../helpers.ts";

/** One parsed SSE frame (comments are counted, not returned). */
export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** A fake LM Studio and a served app pointed at it. */
export interface Harness {
  lm: FakeLmStudio;
  kv: Deno.Kv;
  url: string;
  shutdown: AbortController;
  post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Polls the run until `pred` holds (default: a terminal status). */
  waitRun(
    id: string,
    pred?: (r: RunRecord, text: string) => boolean,
  ): Promise<RunRecord & { text: string }>;
  close(): Promise<void>;
}

/** Starts the fake and the app. `env` adds `LDR_*` overrides; `kv` reuses a store. */
export async function harness(opts: {
  fake?: FakeLmStudioOptions;
  env?: Record<string, string>;
  config?: Partial<AppConfig>;
  kv?: Deno.Kv;
  lm?: FakeLmStudio;
} = {}): Promise<Harness> {
  const lm = opts.lm ?? await startFakeLmStudio(opts.fake);
  const kv = opts.kv ?? await Deno.openKv(":memory:");
  await migrate(kv);
  const shutdown = new AbortController();
  const app = createApp({
    kv,
    shutdown: shutdown.signal,
    // These tests check the runner against /v1 request bodies; native_test.ts runs the same kind
    // of runs through LM Studio's native chat (pass LDR_LLM_LMSTUDIO_NATIVE_CHAT: "true").
    env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_LMSTUDIO_NATIVE_CHAT: "false", ...opts.env },
    config: opts.config,
  });
  const server = serve(app);
  const h: Harness = {
    lm,
    kv,
    url: server.url,
    shutdown,
    async post(body) {
      const res = await fetch(`${server.url}/api/research`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    },
    async get(path) {
      const res = await fetch(`${server.url}${path}`);
      return { status: res.status, json: await res.json() };
    },
    async waitRun(
      id,
      pred = (r) => ["completed", "failed", "cancelled", "interrupted"].includes(r.status),
    ) {
      for (let i = 0; i < 2000; i++) {
        const { status, json } = await h.get(`/api/research/${id}`);
        if (status !== 200) throw new Error(`GET run ${id}: ${status} ${JSON.stringify(json)}`);
        const run = json.run as RunRecord;
        if (pred(run, json.text as string)) return { ...run, text: json.text as string };
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`run ${id} never reached the expected state`);
    },
    async close() {
      shutdown.abort();
      await server.close();
      if (!opts.lm) await lm.close();
      // Let runs that were stopped by the shutdown write their last state before KV closes: wait
      // until none is still `running` (a fixed pause was outlasted on a loaded machine), bounded.
      for (const until = Date.now() + 10_000; Date.now() < until;) {
        let running = false;
        for await (const e of kv.list<RunRecord>({ prefix: ["runs"] })) {
          if (e.key.length === 2 && e.value?.status === "running") running = true;
        }
        if (!running) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 20));
      if (!opts.kv) kv.close();
    },
  };
  return h;
}

/**
 * Reads an SSE stream over fetch. Stops when `until` holds for the events so far (then aborts the
 * connection: a client going away), or when the server ends the stream.
 */
export async function readSse(
  url: string,
  opts: { lastEventId?: number; until?: (events: SseEvent[]) => boolean } = {},
): Promise<{ events: SseEvent[]; comments: string[]; status: number; ended: boolean }> {
  const ctrl = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (opts.lastEventId !== undefined) headers["last-event-id"] = String(opts.lastEventId);
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  if (!res.body) return { events, comments, status: res.status, ended: true };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { events, comments, status: res.status, ended: true };
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const e: Partial<SseEvent> = {};
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) comments.push(line.slice(1).trim());
        else if (line.startsWith("id: ")) e.id = Number(line.slice(4));
        else if (line.startsWith("event: ")) e.event = line.slice(7);
        else if (line.startsWith("data: ")) e.data = JSON.parse(line.slice(6));
      }
      if (e.event) {
        events.push(e as SseEvent);
        if (opts.until?.(events)) {
          ctrl.abort();
          await reader.cancel().catch(() => {});
          return { events, comments, status: res.status, ended: false };
        }
      }
    }
  }
}

/** A reply of `n` distinct words, so every streamed token can be told apart. */
export function words(n: number, prefix = "w"): string {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(" ");
}

/** Event types in order, with consecutive duplicates collapsed (`delta×40` → `delta`). */
export function shape(events: SseEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) if (out.at(-1) !== e.event) out.push(e.event);
  return out;
}

/** The text a reader gets by applying a run's events in order (what the run view does). */
export function foldEvents(events: SseEvent[]): string {
  let text = "";
  for (const e of events) {
    if (e.event === "delta" && !e.data.aside) text += String(e.data.text);
    if (e.event === "text") text = applyTextOp(text, e.data as unknown as TextOp);
  }
  return text;
}

/**
 * Starts a crash-test child (`deno run -A script …args`, a deepstudio that prints its URL and
 * runs until killed): the process at once, and its URL once printed.
 */
export function spawnCrashChild(
  script: URL,
  args: string[],
): { child: Deno.ChildProcess; url: Promise<string> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const url = (async () => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) out += (await reader.read()).value ?? "";
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    return out.trim();
  })();
  return { child, url };
}
