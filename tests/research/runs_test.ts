import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { harness, readSse, shape } from "./support.ts";

Deno.test("a quick run streams its answer and completes with events in order", async () => {
  const h = await harness({ fake: { reply: "Paris is the capital of France.", tokenDelayMs: 2 } });
  try {
    const { status, json } = await h.post({
      query: "What is the capital of France?",
      mode: "quick",
    });
    assertEquals(status, 202);
    const id = json.id as string;
    assert(["queued", "running"].includes(json.status as string));
    const { events, ended } = await readSse(`${h.url}/api/research/${id}/events`);
    assert(ended, "the stream ends after done");
    assertEquals(events.map((e) => e.id), events.map((_, i) => i + 1), "ids are 1..N");
    assertEquals(shape(events.filter((e) => e.event !== "progress")), [
      "status",
      "step",
      "first_token",
      "delta",
      "step",
      "metrics",
      "status",
      "done",
    ]);
    const steps = events.filter((e) => e.event === "step").map((e) => [e.data.name, e.data.state]);
    assertEquals(steps, [["answer", "running"], ["answer", "done"]]);
    assertEquals(events[0].data, { status: "queued" });
    assertEquals(events[1].data, { status: "running" });
    const text = events.filter((e) => e.event === "delta").map((e) => e.data.text).join("");
    assertEquals(text, "Paris is the capital of France.");
    const metrics = events.find((e) => e.event === "metrics")!.data;
    assertEquals(metrics.model, "qwen2.5-7b-instruct");
    assertEquals((metrics.usage as Record<string, number>).completionTokens > 0, true);
    assertEquals(events.at(-2)!.data, { status: "completed" });
    assertEquals(events.at(-1)!.data, { status: "completed" });

    const run = await h.waitRun(id);
    assertEquals(run.status, "completed");
    assertEquals(run.text, "Paris is the capital of France.");
    assertEquals(run.lastSeq, events.length);
    assertEquals(run.settings.model, "qwen2.5-7b-instruct");
    assertEquals(run.settings.modelChosen, false);
    assertEquals(run.settings.contextWindow, 4096);
    assertEquals(run.settings.contextSource, "server");
    // The request carried the question and asked for usage.
    const req = h.lm.chatRequests()[0].body as Record<string, unknown>;
    assertStringIncludes(JSON.stringify(req.messages), "What is the capital of France?");
    assertEquals(req.stream, true);
    assertEquals(req.stream_options, { include_usage: true });
  } finally {
    await h.close();
  }
});

Deno.test("a detailed run plans sub-questions, answers each with its step, then writes the report", async () => {
  const reply = "1. What is alpha?\n2. **How does beta work?**\n3) Why gamma?\nSome closing words.";
  const h = await harness({ fake: { reply } });
  try {
    const { json } = await h.post({ query: "Explain alpha beta gamma", mode: "detailed" });
    const id = json.id as string;
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const run = await h.waitRun(id);
    assertEquals(run.status, "completed");
    assertEquals(run.steps.map((s) => [s.index, s.question, s.status]), [
      [1, "What is alpha?", "done"],
      [2, "How does beta work?", "done"],
      [3, "Why gamma?", "done"],
    ]);
    // plan + 3 sub-questions + synthesis
    assertEquals(h.lm.chatRequests().length, 5);
    assertEquals(run.metrics.steps, 5);
    const planProgress = events.find((e) => e.event === "progress" && e.data.questions);
    assertEquals(planProgress?.data.questions, [
      "What is alpha?",
      "How does beta work?",
      "Why gamma?",
    ]);
    // Deltas: the plan (step 0), sub-questions 1, 2, 3, then the report (no step), in order.
    const deltaSteps = events.filter((e) => e.event === "delta").map((e) =>
      e.data.step ?? "report"
    );
    const order = deltaSteps.filter((s, i) => deltaSteps[i - 1] !== s);
    assertEquals(order, [0, 1, 2, 3, "report"]);
    for (const step of [1, 2, 3]) {
      const text = events.filter((e) => e.event === "delta" && e.data.step === step).map((e) =>
        e.data.text
      ).join("");
      assertEquals(text, reply);
    }
    // Per-call metrics, then the totals last.
    const metrics = events.filter((e) => e.event === "metrics").map((e) => e.data.phase);
    assertEquals(metrics, ["plan", "research", "research", "research", "synthesis", "total"]);
    const percents = events.filter((e) => e.event === "progress").map((e) =>
      e.data.percent as number
    );
    assertEquals([...percents].sort((a, b) => a - b), percents, "progress never goes backwards");
    assertEquals(percents.at(-1), 100);
    // The text: the report first under its heading, the research notes after it.
    assert(run.text.startsWith(`## Report\n\n${reply}`), run.text.slice(0, 200));
    assertStringIncludes(run.text, "## Research notes");
    assertStringIncludes(run.text, "### 2. How does beta work?");
    // The synthesis prompt carried every finding.
    const synth = JSON.stringify(h.lm.chatRequests()[4].body);
    assertStringIncludes(synth, "Finding 3: Why gamma?");
    assertEquals(events.at(-1)!.event, "done");
  } finally {
    await h.close();
  }
});

Deno.test("history lists runs newest first with cursor paging", async () => {
  const h = await harness({ fake: { reply: "ok" } });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { json } = await h.post({ query: `question ${i}`, mode: "quick" });
      ids.push(json.id as string);
      await h.waitRun(json.id as string);
    }
    const page1 = await h.get("/api/research?limit=2");
    const runs1 = page1.json.runs as RunRecord[];
    assertEquals(runs1.map((r) => r.query), ["question 4", "question 3"]);
    assert(typeof page1.json.cursor === "string");
    const page2 = await h.get(`/api/research?limit=2&cursor=${page1.json.cursor}`);
    assertEquals((page2.json.runs as RunRecord[]).map((r) => r.query), [
      "question 2",
      "question 1",
    ]);
    const page3 = await h.get(`/api/research?limit=2&cursor=${page2.json.cursor}`);
    assertEquals((page3.json.runs as RunRecord[]).map((r) => r.query), ["question 0"]);
    assertEquals(page3.json.cursor, null);
    const bad = await h.get("/api/research?limit=0");
    assertEquals(bad.status, 400);
    assertMatch(JSON.stringify(bad.json), /limit/);
  } finally {
    await h.close();
  }
});
