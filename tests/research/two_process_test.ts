/**
 * Two real deepstudio processes on one KV file (`deno task start --port 5001` while one runs):
 * the second one's start leaves the first one's runs alone, settings saved in one apply in the
 * other, a cancel sent to either stops the run where it runs, and an event stream opened on the
 * process that does not run it follows the run live.
 */
import { assert, assertEquals } from "../assert.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { ROOT, RUN_PERMISSIONS, type RunningServer, startServer } from "../distribution/process.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { foldEvents, readSse, words } from "./support.ts";

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function waitRun(base: string, id: string, pred: (r: RunRecord, text: string) => boolean) {
  for (let i = 0; i < 1500; i++) {
    const { json } = await call(base, "GET", `/api/research/${id}`);
    if (json.run && pred(json.run, json.text)) {
      return { ...json.run, text: json.text } as RunRecord & {
        text: string;
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`run ${id} never reached the expected state`);
}

Deno.test("two processes on one KV file keep each other's runs alive, share settings, cancel and follow each other's runs", async () => {
  const lm = await startFakeLmStudio({ reply: words(150), tokenDelayMs: 15 });
  const dir = await Deno.makeTempDir();
  const start = () =>
    startServer([
      "run",
      ...RUN_PERMISSIONS,
      `${ROOT}main.ts`,
      "--port",
      "0",
      "--kv",
      `${dir}/ds.kv`,
    ], {
      cwd: dir,
      env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_LMSTUDIO_NATIVE_CHAT: "false" },
    });
  const servers: RunningServer[] = [];
  try {
    const a = await start();
    servers.push(a);
    const first = (await call(a.url, "POST", "/api/research", { query: "long one", mode: "quick" }))
      .json.id as string;
    await waitRun(a.url, first, (r, text) => r.status === "running" && text.length > 20);

    // The second process starts while the first one's run streams.
    const b = await start();
    servers.push(b);
    // A reader on B follows the run A is running, live: tokens arrive before it completes.
    let sawRunning = false;
    const followed = readSse(`${b.url}/api/research/${first}/events`, {
      until: (events) => {
        if (events.at(-1)?.event === "delta" && !sawRunning) {
          sawRunning = true;
        }
        return events.at(-1)?.event === "done";
      },
    });
    const done = await waitRun(
      a.url,
      first,
      (r) => r.status !== "running" && r.status !== "queued",
    );
    assertEquals(done.status, "completed", "B's start did not take A's run");
    assertEquals(done.resumes, 0);
    assertEquals(done.text, words(150));
    const { events } = await followed;
    assert(sawRunning, "B streamed deltas");
    assertEquals(events.at(-1)!.data, { status: "completed" });
    assertEquals(foldEvents(events), done.text, "B's reader got the whole text");
    assertEquals(events.map((e) => e.id), events.map((_, i) => i + 1), "in order, no gaps");

    // Settings saved through B apply in A (A had them cached from its run).
    const patched = await call(b.url, "PATCH", "/api/settings", { "llm.temperature": 0.25 });
    assertEquals(patched.status, 200, `${JSON.stringify(patched.json)}\n${b.output()}`);
    const seen = await call(a.url, "GET", "/api/settings");
    assertEquals(seen.json.settings["llm.temperature"].value, 0.25);

    // A cancel sent to B stops the run A runs, at once, upstream included.
    const second = (await call(a.url, "POST", "/api/research", { query: "stop me", mode: "quick" }))
      .json.id as string;
    await waitRun(a.url, second, (r, text) => r.status === "running" && text.length > 10);
    const before = lm.chatRequests().length;
    const cancelled = await call(b.url, "POST", `/api/research/${second}/cancel`);
    assertEquals(cancelled.status, 200, JSON.stringify(cancelled.json));
    assertEquals(cancelled.json.status, "cancelled");
    await lm.waitForAbort(undefined, 5000);
    const run = await waitRun(a.url, second, (r) => r.status === "cancelled");
    assert(run.text.length > 10 && words(150).startsWith(run.text), "text so far kept");
    assertEquals(lm.chatRequests().length, before, "nothing re-asked");
    const body = lm.chatRequests().at(-1)!.body as { temperature: number };
    assertEquals(body.temperature, 0.25, "A's new run used the setting saved through B");
  } finally {
    for (const s of servers) await s.stop();
    await lm.close();
    await Deno.remove(dir, { recursive: true });
  }
});
