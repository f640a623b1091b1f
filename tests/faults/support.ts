/**
 * Fault-injection scaffolding: the fake LM Studio, deepstudio on a real socket (port 0) with its
 * provider URL saved as a KV setting (not an env lock, so a test can point it at a dead port, an
 * unresolvable name or a cutting proxy and back), and the checks every fault test ends with:
 * the typed error as the person sees it, and the service still serving afterwards.
 */
import { createApp } from "../../app.ts";
import type { AppConfig } from "../../lib/config.ts";
import { migrate } from "../../lib/kv/migrations.ts";
import type { UpstreamError } from "../../lib/providers/types.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  type FakeLmStudio,
  type FakeLmStudioOptions,
  startFakeLmStudio,
} from "../fakes/lmstudio.ts";
import { serve } from "../helpers.ts";

/** The fake's one loaded chat model. */
export const MODEL = "qwen2.5-7b-instruct";

/** The answer the fake streams: one word a token, so a cut point is easy to see. */
export const REPLY = "alpha bravo charlie delta echo foxtrot golf hotel india juliett";

/** The first `n` tokens of {@link REPLY}, as a run's text would hold them. */
export function replyPrefix(n: number): string {
  return REPLY.split(" ").slice(0, n).join(" ");
}

/** One parsed SSE frame of a research run's event stream. */
export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** A finished run as `GET /api/research/{id}` shows it. */
export type RunView = RunRecord & { text: string };

/** A fake LM Studio with deepstudio in front of it. */
export interface Rig {
  lm: FakeLmStudio;
  /** deepstudio's origin. */
  url: string;
  /** Operational log lines deepstudio wrote. */
  logs: string[];
  /** A JSON request to deepstudio's API. */
  api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }>;
  /** PATCHes settings (throws unless 200). */
  setSettings(patch: Record<string, unknown>): Promise<void>;
  /** Starts a run; returns its id (throws unless 202). */
  startRun(body?: Record<string, unknown>): Promise<string>;
  /** Polls the run until it is terminal (or `pred` holds). */
  waitRun(id: string, pred?: (r: RunView) => boolean): Promise<RunView>;
  /** The whole event stream of a finished run, as the browser reads it. */
  events(id: string): Promise<{ events: SseEvent[]; comments: string[] }>;
  /** `POST /v1/chat/completions` with plain fetch. */
  chat(body: Record<string, unknown>): Promise<Response>;
  close(): Promise<void>;
}

const TERMINAL = ["completed", "failed", "cancelled", "interrupted"];

/** Starts the fake (defaults: {@link REPLY}) and deepstudio; `settings` are saved in KV. */
export async function startRig(opts: {
  fake?: FakeLmStudioOptions;
  settings?: Record<string, unknown>;
  config?: Partial<AppConfig>;
} = {}): Promise<Rig> {
  const lm = await startFakeLmStudio({ reply: REPLY, ...opts.fake });
  const kv = await Deno.openKv(":memory:");
  await migrate(kv);
  const shutdown = new AbortController();
  const logs: string[] = [];
  const app = createApp({
    kv,
    shutdown: shutdown.signal,
    // These faults are /v1 wire faults; tests/providers/native_chat_test.ts covers native chat's.
    env: { LDR_LLM_LMSTUDIO_NATIVE_CHAT: "false" },
    config: opts.config,
    log: (m) => logs.push(m),
  });
  const server = serve(app);
  const rig: Rig = {
    lm,
    url: server.url,
    logs,
    async api(method, path, body) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text);
      } catch {
        json = { raw: text };
      }
      return { status: res.status, json, headers: res.headers };
    },
    async setSettings(patch) {
      const res = await rig.api("PATCH", "/api/settings", patch);
      assertEquals(res.status, 200, `PATCH settings: ${JSON.stringify(res.json)}`);
    },
    async startRun(body = {}) {
      const res = await rig.api("POST", "/api/research", {
        query: "What is a fault?",
        mode: "quick",
        ...body,
      });
      assertEquals(res.status, 202, `POST /api/research: ${JSON.stringify(res.json)}`);
      return res.json.id as string;
    },
    async waitRun(id, pred = (r) => TERMINAL.includes(r.status)) {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const { status, json } = await rig.api("GET", `/api/research/${id}`);
        assertEquals(status, 200, `GET run ${id}: ${JSON.stringify(json)}`);
        const view = { ...(json.run as RunRecord), text: json.text as string };
        if (pred(view)) return view;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`run ${id} never reached the expected state`);
    },
    async events(id) {
      const res = await fetch(`${server.url}/api/research/${id}/events`, {
        headers: { accept: "text/event-stream" },
      });
      return parseSse(await res.text());
    },
    chat(body) {
      return fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    },
    async close() {
      shutdown.abort();
      await server.close();
      await lm.close();
      // Let runs stopped by the shutdown write their last state before KV closes.
      await new Promise((r) => setTimeout(r, 50));
      kv.close();
    },
  };
  await rig.setSettings({ "llm.lmstudio.url": lm.url, ...opts.settings });
  return rig;
}

/** Parses SSE text into events and comment lines. */
export function parseSse(text: string): { events: SseEvent[]; comments: string[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  for (const frame of text.split("\n\n")) {
    const e: Partial<SseEvent> = {};
    for (const line of frame.split("\n")) {
      if (line.startsWith(":")) comments.push(line.slice(1).trim());
      else if (line.startsWith("id: ")) e.id = Number(line.slice(4));
      else if (line.startsWith("event: ")) e.event = line.slice(7);
      else if (line.startsWith("data: ")) e.data = JSON.parse(line.slice(6));
    }
    if (e.event) events.push(e as SseEvent);
  }
  return { events, comments };
}

/** The `data:` payloads of an OpenAI-style SSE body (`[DONE]` kept as the string). */
export function openAiEvents(text: string): (Record<string, unknown> | string)[] {
  const out: (Record<string, unknown> | string)[] = [];
  for (const frame of text.split("\n\n")) {
    const line = frame.split("\n").find((l) => l.startsWith("data: "));
    if (!line) continue;
    const data = line.slice(6);
    try {
      out.push(data === "[DONE]" ? data : JSON.parse(data));
    } catch {
      out.push(data);
    }
  }
  return out;
}

/** The content the client received from an OpenAI stream's chunks. */
export function streamedContent(events: (Record<string, unknown> | string)[]): string {
  let text = "";
  for (const e of events) {
    if (typeof e === "string") continue;
    for (const c of (e.choices as { delta?: { content?: string } }[] | undefined) ?? []) {
      text += c.delta?.content ?? "";
    }
  }
  return text;
}

/** What a fault should look like to the person (docs/providers.md, "Errors"). */
export interface Expected {
  kind: UpstreamError["kind"];
  title: string;
  /** The URL deepstudio actually called, named in the message. */
  url: string;
  /** Must appear in the message. */
  message?: (string | RegExp)[];
  /** Must appear in the hint. */
  hint: (string | RegExp)[];
}

function includes(text: string, part: string | RegExp, what: string) {
  if (typeof part === "string") assertStringIncludes(text, part, `${what}: ${text}`);
  else assert(part.test(text), `${what} should match ${part}: ${text}`);
}

/** Checks a typed error: kind, title, message naming LM Studio and the URL, hint gist. */
export function assertTyped(error: UpstreamError | null | undefined, exp: Expected): UpstreamError {
  assert(error, "a typed error");
  assertEquals(error.kind, exp.kind, `kind of ${JSON.stringify(error)}`);
  assertEquals(error.title, exp.title);
  assertEquals(error.provider, "lmstudio");
  assertStringIncludes(error.message, `LM Studio at ${exp.url}`);
  for (const m of exp.message ?? []) includes(error.message, m, "message");
  assert(error.hint.length > 0, "a hint");
  for (const h of exp.hint) includes(error.hint, h, "hint");
  return error;
}

/**
 * A failed run as the person sees it: status `failed`, the typed error on the record and as a
 * fatal `error` event, `done` last, and the text = what streamed before the fault (`partial`,
 * possibly empty) followed by the fallback report naming the kind and the fix.
 */
export async function assertFailedRun(
  rig: Rig,
  id: string,
  exp: Expected & { partial: string },
): Promise<{ run: RunView; error: UpstreamError }> {
  const run = await rig.waitRun(id);
  assertEquals(run.status, "failed", `run ended ${run.status}: ${run.text}`);
  const error = assertTyped(run.error, exp);
  if (exp.partial) {
    assert(run.text.startsWith(exp.partial), `partial text kept: ${JSON.stringify(run.text)}`);
    assertStringIncludes(run.text, "what was produced before the failure");
  } else {
    assertStringIncludes(run.text, "Nothing was produced before the failure");
  }
  assertStringIncludes(run.text, `## ⚠ ${exp.title}`);
  assertStringIncludes(run.text, `\`${exp.kind}\``);
  assertStringIncludes(run.text, error.hint);
  const { events } = await rig.events(id);
  const ev = events.find((e) => e.event === "error");
  assert(ev, "an error event");
  assertEquals(ev.data.kind, exp.kind);
  assertEquals(ev.data.fatal, true);
  assertEquals(events.at(-1)?.event, "done");
  assertEquals(events.at(-1)?.data, { status: "failed" });
  const streamed = events.filter((e) => e.event === "delta").map((e) => e.data.text).join("");
  assertEquals(streamed, exp.partial, "the deltas the browser got are the partial text");
  return { run, error };
}

/** An OpenAI error body from /v1: status, type/code, and the message carrying URL and hint. */
export async function assertGatewayError(
  res: Response,
  exp: { status: number; code: string | null; url: string; parts: (string | RegExp)[] },
): Promise<{ message: string; headers: Headers }> {
  const body = await res.json();
  assertEquals(res.status, exp.status, JSON.stringify(body));
  assert(body.error && typeof body.error.message === "string", JSON.stringify(body));
  assertEquals(body.error.code, exp.code);
  const message = body.error.message as string;
  assertStringIncludes(message, `LM Studio at ${exp.url}`);
  for (const p of exp.parts) includes(message, p, "gateway message");
  return { message, headers: res.headers };
}

/**
 * The service keeps serving: health is 200, and with the upstream healthy again a research run
 * completes with the full answer and a /v1 completion succeeds. `heal` undoes the fault first.
 */
export async function assertStillServing(rig: Rig, heal: () => Promise<void> | void) {
  const health = await rig.api("GET", "/api/health");
  assertEquals(health.status, 200);
  assertEquals(health.json.status, "ok");
  await heal();
  // The model is named: a model list cached during the fault (a few seconds) must not matter.
  const id = await rig.startRun({ query: "Are you still there?", model: MODEL });
  const run = await rig.waitRun(id);
  assertEquals(run.status, "completed", `${run.status}: ${run.text}`);
  assertEquals(run.text, REPLY);
  const res = await rig.chat({ messages: [{ role: "user", content: "Hello?" }], model: MODEL });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  assertEquals(body.choices[0].message.content, REPLY);
}

/** Undoes every fault switch of the fake. */
export function healFake(lm: FakeLmStudio) {
  lm.set({ fault: null, headerDelayMs: 0, promptDelayMs: 0, tokenDelayMs: 0, apiToken: null });
}

/** A 127.0.0.1 port nothing listens on (bound, then released): connecting is refused. */
export function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * A run that was accepted while the upstream was healthy and meets the fault only when it
 * starts: with one run at a time, a blocker holds the slot (LM Studio "loading" for a minute),
 * the target queues, `fault()` breaks the upstream, and cancelling the blocker lets the target
 * start. This is LM Studio going away (or locking up) while work waits, which the pre-start
 * check cannot catch.
 */
export async function runMeetingFault(
  rig: Rig,
  fault: () => Promise<void> | void,
): Promise<string> {
  await rig.setSettings({ "app.max_concurrent_researches": 1 });
  rig.lm.set({ promptDelayMs: 600_000 });
  const blocker = await rig.startRun({ query: "Hold the slot" });
  await rig.lm.waitForRequest((r) => r.path === "/v1/chat/completions", 10_000);
  const target = await rig.startRun({ query: "What is a fault?" });
  const queued = await rig.api("GET", `/api/research/${target}`);
  assertEquals((queued.json.run as RunRecord).status, "queued");
  rig.lm.set({ promptDelayMs: 0 });
  await fault();
  const cancel = await rig.api("POST", `/api/research/${blocker}/cancel`);
  assertEquals(cancel.status, 200);
  await rig.lm.waitForAbort((r) => r.path === "/v1/chat/completions", 10_000);
  await rig.setSettings({ "app.max_concurrent_researches": 3 });
  return target;
}
