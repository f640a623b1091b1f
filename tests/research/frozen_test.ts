/**
 * A run's settings are resolved once at its start: saving another server URL (or temperature)
 * mid-run changes the next run, never the rest of this one, and not a resumed one either.
 */
import { assert, assertEquals } from "../assert.ts";
import { createApp } from "../../app.ts";
import { migrate } from "../../lib/kv/migrations.ts";
import { settingKey } from "../../lib/kv/keys.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { serve } from "../helpers.ts";

const PLAN = "1. What is alpha?\n2. How does beta work?\n3. Why gamma?";

function app(kv: Deno.Kv) {
  const shutdown = new AbortController();
  // These tests count /v1 requests; native chat has its own tests (tests/research/native_test.ts).
  const env = { LDR_LLM_LMSTUDIO_NATIVE_CHAT: "false" };
  const server = serve(
    createApp({ kv, env, shutdown: shutdown.signal, config: { runLeaseMs: 300 } }),
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };
  const waitRun = async (id: string, pred: (r: RunRecord) => boolean) => {
    for (let i = 0; i < 500; i++) {
      const { json } = await call("GET", `/api/research/${id}`);
      if (pred(json.run)) return json.run as RunRecord;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`run ${id} never reached the expected state`);
  };
  return {
    call,
    waitRun,
    async close() {
      shutdown.abort();
      await server.close();
    },
  };
}

Deno.test("changing the server URL and temperature mid-run: the next sub-question still goes to the original server", async () => {
  const a = await startFakeLmStudio({ reply: PLAN, tokenDelayMs: 10 });
  const b = await startFakeLmStudio({ reply: PLAN });
  const kv = await Deno.openKv(":memory:");
  await migrate(kv);
  await kv.set(settingKey("llm.lmstudio.url"), a.url);
  const s = await app(kv);
  try {
    const second = a.waitForRequest(
      (r) => r.path === "/v1/chat/completions" && a.chatRequests().indexOf(r) === 1,
      10_000,
    );
    const { json } = await s.call("POST", "/api/research", { query: "alpha", mode: "detailed" });
    await second; // the plan is done, sub-question 1 is streaming
    const patched = await s.call("PATCH", "/api/settings", {
      "llm.lmstudio.url": b.url,
      "llm.temperature": 1.5,
    });
    assertEquals(patched.status, 200, JSON.stringify(patched.json));
    const run = await s.waitRun(json.id, (r) => r.status === "completed");
    assertEquals(run.settings.baseUrl, a.url);
    assertEquals(b.chatRequests().length, 0, "nothing of this run went to the new server");
    assertEquals(a.chatRequests().length, 5, "plan, three sub-questions, report");
    for (const req of a.chatRequests()) {
      assertEquals((req.body as { temperature: number }).temperature, 0.7);
    }
    // The next run uses the new settings.
    const next = await s.call("POST", "/api/research", { query: "beta", mode: "quick" });
    await s.waitRun(next.json.id, (r) => r.status === "completed");
    assertEquals(b.chatRequests().length, 1);
    assertEquals((b.chatRequests()[0].body as { temperature: number }).temperature, 1.5);
  } finally {
    await s.close();
    kv.close();
    await a.close();
    await b.close();
  }
});

Deno.test("a run resumed after a restart keeps the server it started with, not one saved since", async () => {
  const a = await startFakeLmStudio({ reply: PLAN, tokenDelayMs: 10 });
  const b = await startFakeLmStudio({ reply: PLAN });
  const kv = await Deno.openKv(":memory:");
  await migrate(kv);
  await kv.set(settingKey("llm.lmstudio.url"), a.url);
  const s1 = await app(kv);
  const second = a.waitForRequest(
    (r) => r.path === "/v1/chat/completions" && a.chatRequests().indexOf(r) === 1,
    10_000,
  );
  const { json } = await s1.call("POST", "/api/research", { query: "alpha", mode: "detailed" });
  await second;
  assertEquals(
    (await s1.call("PATCH", "/api/settings", { "llm.lmstudio.url": b.url })).status,
    200,
  );
  await s1.close();
  const s2 = await app(kv);
  try {
    const run = await s2.waitRun(json.id, (r) => r.status === "completed");
    assertEquals(run.resumes, 1);
    assert(a.chatRequests().length >= 4, `${a.chatRequests().length} requests on the original`);
    assertEquals(b.chatRequests().length, 0);
  } finally {
    await s2.close();
    kv.close();
    await a.close();
    await b.close();
  }
});
