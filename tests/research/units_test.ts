import { assert, assertEquals } from "../assert.ts";
import {
  estimatePromptTokens,
  estimateTextTokens,
  fitFindings,
  trimToTokens,
} from "../../lib/research/budget.ts";
import { createEventLog, follow, readEvents } from "../../lib/research/events.ts";
import { parsePlan } from "../../lib/research/plan.ts";
import { synthesisPrompt } from "../../lib/research/prompts.ts";
import type { RunEvent } from "../../lib/research/schema.ts";
import { CHUNK_CHARS, createTextBuffer, readText } from "../../lib/research/text.ts";
import { runTextPrefix } from "../../lib/kv/keys.ts";

Deno.test("plans are read from numbered lists in the forms small models write", () => {
  assertEquals(parsePlan("1. A one?\n2. B two?\n3. C three?"), ["A one?", "B two?", "C three?"]);
  assertEquals(
    parsePlan(
      "Sure! Here are the sub-questions:\n\n1) **What is X?**\n2) How does X work?\n\n3) `Why` X?\nHope this helps.",
    ),
    ["What is X?", "How does X work?", "Why X?"],
  );
  assertEquals(parsePlan("- first item\n* second item\n• third item"), [
    "first item",
    "second item",
    "third item",
  ]);
  assertEquals(parsePlan("Q1: alpha?\nQ2: beta?\nQuestion 3: gamma?"), [
    "alpha?",
    "beta?",
    "gamma?",
  ]);
  assertEquals(parsePlan("<think>1. hidden?</think>\n1. shown?"), ["shown?"]);
  assertEquals(parsePlan("1. same?\n2. Same?\n3. other?"), ["same?", "other?"], "de-duplicated");
  assertEquals(
    parsePlan([1, 2, 3, 4, 5, 6, 7].map((n) => `${n}. item ${n}?`).join("\n")).length,
    5,
  );
  assertEquals(parsePlan("What is the first thing here?\nnot a question\nAnd the second one?"), [
    "What is the first thing here?",
    "And the second one?",
  ]);
  assertEquals(parsePlan("no list at all"), []);
});

Deno.test("token estimates are conservative for ASCII and count each CJK character", () => {
  assert(estimateTextTokens("abcd".repeat(100)) >= 100);
  assert(estimateTextTokens("語".repeat(100)) >= 100);
  const long = "Sentence one is here. ".repeat(200);
  const cut = trimToTokens(long, 100);
  assert(estimateTextTokens(cut) <= 100);
  assert(cut.endsWith("."), "cut at a sentence end");
});

Deno.test("fitFindings trims the longest findings first and fits the budget", () => {
  const findings = [
    { question: "short?", answer: "tiny answer" },
    { question: "long?", answer: "Long answer sentence. ".repeat(400) },
    { question: "medium?", answer: "Medium answer sentence. ".repeat(60) },
  ];
  const build = (f: typeof findings) => synthesisPrompt("q", f);
  const budget = 900;
  const fit = fitFindings(findings, budget, build)!;
  assert(fit.trimmed);
  assert(estimatePromptTokens(build(fit.findings)) <= budget);
  assertEquals(fit.findings[0].answer, "tiny answer", "short findings survive whole");
  assert(fit.findings[1].answer.length < findings[1].answer.length);
  assertEquals(fitFindings(findings, 100_000, build)!.trimmed, false);
  assertEquals(fitFindings(findings, 50, build), null, "even the instructions do not fit");
});

Deno.test("long text is stored in chunks under 64 KiB and appends rewrite only the last chunk", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const buf = createTextBuffer();
    const big = "é".repeat(CHUNK_CHARS * 2 + 500);
    buf.append(big);
    let op = kv.atomic();
    let writes = 0;
    const count = {
      set: (k: Deno.KvKey, v: unknown) => (writes++, op.set(k, v)),
      delete: (k: Deno.KvKey) => (writes++, op.delete(k)),
    };
    assertEquals(buf.stage(count, "r1"), 3);
    await op.commit();
    buf.committed();
    assertEquals(writes, 3);
    for await (const e of kv.list<string>({ prefix: runTextPrefix("r1") })) {
      assert(new TextEncoder().encode(e.value).length < 64 * 1024);
    }
    buf.append("tail");
    op = kv.atomic();
    writes = 0;
    buf.stage(count, "r1");
    await op.commit();
    buf.committed();
    assertEquals(writes, 1, "only the last chunk is rewritten");
    assertEquals(await readText(kv, "r1", 3), big + "tail");
    // Replacing with a shorter text deletes the chunks no longer used.
    buf.replace("short");
    op = kv.atomic();
    assertEquals(buf.stage(count, "r1"), 1);
    await op.commit();
    buf.committed();
    const keys = [];
    for await (const e of kv.list({ prefix: runTextPrefix("r1") })) keys.push(e.key);
    assertEquals(keys.length, 1);
    assertEquals(await readText(kv, "r1", 1), "short");
  } finally {
    kv.close();
  }
});

Deno.test("follow replays persisted and pending events then live ones, each exactly once", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const log = createEventLog(() => 0);
    const flush = async () => {
      const op = kv.atomic();
      const n = log.stage(op, "r");
      await op.commit();
      log.committed(n);
    };
    for (let i = 0; i < 5; i++) log.append("delta", { text: `a${i}` });
    await flush(); // 1..5 in KV
    for (let i = 0; i < 3; i++) log.append("delta", { text: `b${i}` }); // 6..8 pending
    const seen: RunEvent[] = [];
    const ac = new AbortController();
    const reader = (async () => {
      for await (const e of follow(kv, "r", { log }, { after: 2, signal: ac.signal })) seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 10));
    await flush(); // 6..8 move to KV while the reader is attached
    log.append("delta", { text: "c" });
    log.append("done", { status: "completed" });
    await reader;
    assertEquals(seen.map((e) => e.seq), [3, 4, 5, 6, 7, 8, 9, 10]);
    await flush();
    assertEquals((await readEvents(kv, "r", 8)).map((e) => e.seq), [9, 10]);
    // Pages stay under the KV value limit however many events wait.
    const log2 = createEventLog(() => 0);
    for (let i = 0; i < 3000; i++) log2.append("delta", { text: "x".repeat(40) });
    const sizes: number[] = [];
    log2.stage({ set: (_k, v) => sizes.push(JSON.stringify(v).length), delete: () => {} }, "r2");
    assert(sizes.length > 1);
    for (const s of sizes) assert(s < 60 * 1024, `page of ${s} bytes`);
  } finally {
    kv.close();
  }
});
