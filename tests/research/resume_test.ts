import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { kvGet, runStepKey } from "../../lib/kv/keys.ts";
import { createLiveRun, DEFAULT_FLUSH } from "../../lib/research/live.ts";
import { insertRun, newRunRecord } from "../../lib/research/runs.ts";
import type { RunRecord, RunSettings } from "../../lib/research/schema.ts";
import { loadSteps, PART_CHARS, saveStep } from "../../lib/research/step_store.ts";
import type { PlanOutput } from "../../lib/research/steps/plan.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { foldEvents, harness, readSse } from "./support.ts";

const PLAN = "1. What is alpha?\n2. How does beta work?\n3. Why gamma?";

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

Deno.test("a detailed run stopped mid sub-question resumes there on the next start: plan and answered sub-questions are reused", async () => {
  const lm = await startFakeLmStudio({ reply: PLAN, tokenDelayMs: 25 });
  const kv = await Deno.openKv(":memory:");
  const config = { runLeaseMs: 400 };
  try {
    const h1 = await harness({ kv, lm, config });
    const third = lm.waitForRequest(
      (r) => r.path === "/v1/chat/completions" && lm.chatRequests().indexOf(r) === 2,
      10_000,
    );
    const id = (await h1.post({ query: "alpha beta gamma", mode: "detailed" })).json.id as string;
    await third; // the plan and sub-question 1 are done; sub-question 2 is streaming
    await h1.waitRun(id, (_, text) => text.includes("### 2. How does beta work?\n\n1."));
    await h1.close();
    const stopped = (await kv.get<RunRecord>(["runs", id])).value!;
    assertEquals(stopped.status, "interrupted");
    assertEquals(stopped.pipeline.map((s) => s.state), ["done", "stopped", "pending"]);
    const plan = (await kvGet(kv, runStepKey<PlanOutput>(id, "plan"))).value!;
    assertEquals(plan.state, "done");
    assertEquals(plan.output!.questions.length, 3, "the plan's output has its own key");
    const before = lm.chatRequests().length;

    const h2 = await harness({ kv, lm, config });
    try {
      const run = await h2.waitRun(id, (r) => r.status === "completed");
      const after = lm.chatRequests().slice(before);
      assertEquals(after.length, 3, "sub-questions 2 and 3 and the report; no new plan");
      assertStringIncludes(JSON.stringify(after[0].body), "How does beta work?");
      for (const n of [1, 2, 3]) assertEquals(count(run.text, `### ${n}. `), 1, run.text);
      assertEquals(count(run.text, "## Research notes"), 1);
      assert(run.text.startsWith(`## Report\n\n${PLAN}`), "report first");
      assertEquals(run.resumes, 1);
      assertEquals(run.pipeline.map((s) => s.state), ["done", "done", "done"]);
      const { events } = await readSse(`${h2.url}/api/research/${id}/events`);
      assertEquals(foldEvents(events), run.text, "the events rebuild the stored text exactly");
    } finally {
      await h2.close();
    }
  } finally {
    kv.close();
    await lm.close();
  }
});

Deno.test("POST /api/research/{id}/resume retries a failed run from its failed step; the old error report goes", async () => {
  const h = await harness({
    fake: { reply: "The answer.", fault: { kind: "server-error", message: "out of memory" } },
  });
  try {
    const id = (await h.post({ query: "retry me", mode: "quick" })).json.id as string;
    const failed = await h.waitRun(id);
    assertEquals(failed.status, "failed");
    assertStringIncludes(failed.text, "## ⚠ Server Error");
    h.lm.set({ fault: null });
    const res = await fetch(`${h.url}/api/research/${id}/resume`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(res.status, 202);
    const body = await res.json();
    assert(["queued", "running"].includes(body.status), body.status);
    const run = await h.waitRun(id);
    assertEquals(run.status, "completed");
    assertEquals(run.text, "The answer.");
    assertEquals(run.error, null);
    assertEquals(run.resumes, 1);
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    assertEquals(foldEvents(events), run.text);
    const steps = events.filter((e) => e.event === "step").map((e) => e.data.state);
    assertEquals(steps, ["running", "failed", "running", "done"]);
  } finally {
    await h.close();
  }
});

Deno.test("resume refuses what it cannot do with a clear error", async () => {
  const h = await harness({ fake: { reply: "done", tokenDelayMs: 0 } });
  try {
    const post = async (path: string, body = "{}") => {
      const res = await fetch(`${h.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      return { status: res.status, json: await res.json() };
    };
    const id = (await h.post({ query: "fine", mode: "quick" })).json.id as string;
    await h.waitRun(id);
    const done = await post(`/api/research/${id}/resume`);
    assertEquals([done.status, done.json.error.kind], [409, "conflict"]);
    assertStringIncludes(done.json.error.message, "completed");
    const unknown = await post(`/api/research/zzz/resume`);
    assertEquals([unknown.status, unknown.json.error.kind], [404, "not_found"]);
    // No body at all is the same as `{}`.
    const bare = await fetch(`${h.url}/api/research/${id}/resume`, { method: "POST" });
    assertEquals([bare.status, (await bare.json()).error.kind], [409, "conflict"]);
    const bad = await post(`/api/research/${id}/resume`, '{"bogus":1}');
    assertEquals([bad.status, bad.json.error.kind], [400, "validation"]);
  } finally {
    await h.close();
  }
});

Deno.test("a step output larger than one KV value is stored in parts and read back whole", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const record = newRunRecord("big1", {
      query: "q",
      mode: "detailed",
      settings: {} as RunSettings,
      createdAt: 1,
      owner: "test",
    });
    const res = await insertRun(kv, record, {});
    const live = createLiveRun(kv, { record, versionstamp: res.versionstamp }, {
      policy: DEFAULT_FLUSH,
      now: () => 1,
      stats: { commits: 0, mutations: 0 },
      log: () => {},
    });
    const output = { questions: ["é".repeat(PART_CHARS * 3)] };
    const base = { name: "plan", state: "done" as const, textStart: 0, startedAt: 1 };
    const parts = saveStep(live, { ...base, finishedAt: 2, output });
    assertEquals(parts, 4);
    await live.flush();
    assertEquals((await loadSteps(kv, "big1")).get("plan")!.output, output);
    // A smaller output later removes the parts it no longer needs.
    saveStep(live, { ...base, finishedAt: 3, output: { questions: ["small"] } }, parts);
    await live.flush();
    assertEquals((await loadSteps(kv, "big1")).get("plan")!.output, { questions: ["small"] });
    let left = 0;
    for await (const _ of kv.list({ prefix: ["run_step_parts", "big1"] })) left++;
    assertEquals(left, 0);
    await live.close();
  } finally {
    kv.close();
  }
});

Deno.test("resuming a detailed run whose sub-questions failed asks them again and keeps the plan", async () => {
  const h = await harness({ fake: { reply: PLAN, tokenDelayMs: 5 } });
  try {
    // Every call after the plan fails until the fault is lifted.
    const faulted = h.lm.waitForRequest(
      (r) => r.path === "/v1/chat/completions" && h.lm.chatRequests().indexOf(r) === 1,
      10_000,
    ).then(() => h.lm.set({ fault: { kind: "server-error", message: "out of memory" } }));
    const id = (await h.post({ query: "abc", mode: "detailed" })).json.id as string;
    await faulted;
    const failed = await h.waitRun(id);
    assertEquals(failed.status, "failed");
    h.lm.set({ fault: null });
    const before = h.lm.chatRequests().length;
    const res = await fetch(`${h.url}/api/research/${id}/resume`, { method: "POST" });
    assertEquals(res.status, 202);
    const run = await h.waitRun(id, (r) => r.status === "completed" || r.status === "failed");
    assertEquals(run.status, "completed", JSON.stringify(run.error));
    assertEquals(run.steps.map((s) => s.status), ["done", "done", "done"]);
    const again = failed.steps.filter((s) => s.status === "failed").length;
    const asked = h.lm.chatRequests().slice(before);
    assertEquals(asked.length, again + 1, "the failed sub-questions and the report; no new plan");
    for (const n of [1, 2, 3]) assertEquals(count(run.text, `### ${n}. `), 1, run.text);
    assertEquals(run.text.includes("⚠"), false, "no failure note or report left");
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    assertEquals(foldEvents(events), run.text);
  } finally {
    await h.close();
  }
});

Deno.test("resume right after a run shows failed waits for its last write instead of answering 409", async () => {
  // Slow commits widen the moment between "failed" being visible and the run's final flush,
  // where a resume used to find the run still live and refuse it.
  const kv = await Deno.openKv(":memory:");
  const slow = new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = async () => {
            await new Promise((r) => setTimeout(r, 150));
            return await commit();
          };
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const h = await harness({
    kv: slow,
    fake: { reply: "ok", fault: { kind: "server-error", message: "out of memory" } },
  });
  try {
    const id = (await h.post({ query: "abc", mode: "quick" })).json.id as string;
    assertEquals((await h.waitRun(id)).status, "failed");
    h.lm.set({ fault: null });
    const res = await fetch(`${h.url}/api/research/${id}/resume`, { method: "POST" });
    assertEquals(res.status, 202, await res.text());
    const run = await h.waitRun(id, (r) => r.status === "completed" || r.status === "failed");
    assertEquals(run.status, "completed", JSON.stringify(run.error));
  } finally {
    await h.close();
    kv.close();
  }
});
