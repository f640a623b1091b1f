import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { runEntryKeys } from "../../lib/research/runs.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { harness, readSse, spawnCrashChild, words } from "./support.ts";

Deno.test("after a crash (kill -9), a restarted app resumes the run at its step once the lease expires", async () => {
  const lm = await startFakeLmStudio({ reply: words(2000), tokenDelayMs: 10 });
  const dir = await Deno.makeTempDir();
  const path = `${dir}/deepstudio.kv`;
  const crash = spawnCrashChild(new URL("./crash_child.ts", import.meta.url), [path, lm.url]);
  const child = crash.child;
  try {
    const url = await crash.url;
    const res = await fetch(`${url}/api/research`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "A long one", mode: "quick" }),
    });
    const { id } = await res.json();
    // Wait until some text is persisted (not just streamed), then kill without warning.
    let stored: RunRecord | null = null;
    const peek = await Deno.openKv(path);
    for (let i = 0; i < 500; i++) {
      stored = (await peek.get<RunRecord>(["runs", id])).value;
      if (stored && stored.textLength > 20) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    peek.close();
    assertEquals(stored?.status, "running");
    child.kill("SIGKILL");
    await child.status;

    lm.set({ tokenDelayMs: 0 });
    const kv = await Deno.openKv(path);
    const h = await harness({ kv, lm });
    try {
      const run = await h.waitRun(id);
      assertEquals(run.status, "completed");
      assertEquals(run.resumes, 1);
      // The interrupted step re-ran from its start: the text is the answer once, not twice.
      assertEquals(run.text, words(2000));
      assertEquals(lm.chatRequests().length, 2);
      const { events, ended } = await readSse(`${h.url}/api/research/${id}/events`);
      assert(ended);
      assertEquals(events.map((e) => e.id), events.map((_, i) => i + 1), "no gap in the log");
      const cut = events.find((e) => e.event === "text" && e.data.op === "truncate");
      assertEquals(cut?.data.length, 0, "the partial answer is cut before the step re-runs");
      assertEquals(events.at(-1)!.data, { status: "completed" });
      assertEquals((await kv.get(["runs_active", id])).versionstamp, null, "no longer unfinished");
    } finally {
      await h.close();
      kv.close();
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await lm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shutting the app down stops the upstream, records the run as interrupted, and the next start resumes it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/deepstudio.kv`;
  const lm = await startFakeLmStudio({ reply: words(2000), tokenDelayMs: 10 });
  try {
    const kv1 = await Deno.openKv(path);
    const h1 = await harness({ kv: kv1, lm });
    const { json } = await h1.post({ query: "Stop me", mode: "quick" });
    const id = json.id as string;
    await h1.waitRun(id, (_, text) => text.length > 20);
    h1.shutdown.abort();
    await lm.waitForAbort(undefined, 5000);
    await h1.close();
    const stopped = (await kv1.get<RunRecord>(["runs", id])).value!;
    assertEquals(stopped.status, "interrupted");
    assert(stopped.textLength > 20);
    kv1.close();
    lm.set({ tokenDelayMs: 0 });
    const kv2 = await Deno.openKv(path);
    const h2 = await harness({ kv: kv2, lm });
    try {
      const run = await h2.waitRun(id, (r) => r.status === "completed");
      assertEquals(run.text, words(2000));
      assertEquals(run.resumes, 1);
    } finally {
      await h2.close();
      kv2.close();
    }
  } finally {
    await lm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with a limit of 3, a fourth run waits in the queue and starts when a slot frees", async () => {
  const h = await harness({
    fake: { reply: words(30), tokenDelayMs: 15 },
    env: { LDR_APP_MAX_CONCURRENT_RESEARCHES: "3" },
  });
  try {
    const ids: string[] = [];
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { status, json } = await h.post({ query: `run ${i}`, mode: "quick" });
      assertEquals(status, 202);
      ids.push(json.id as string);
      statuses.push(json.status as string);
    }
    assertEquals(statuses, ["running", "running", "running", "queued"]);
    const fourth = await h.get(`/api/research/${ids[3]}`);
    const progress = (fourth.json.run as RunRecord).progress!;
    assertEquals(progress.phase, "queued");
    assertEquals(progress.position, 1);
    assertMatch(progress.message, /number 1 in the queue \(3 runs at a time\)/);
    const runs = await Promise.all(ids.map((id) => h.waitRun(id)));
    assertEquals(runs.map((r) => r.status), ["completed", "completed", "completed", "completed"]);
    // The fourth started only after one of the first three had finished, and runs started in order.
    const firstEnd = Math.min(...runs.slice(0, 3).map((r) => r.finishedAt!));
    assert(runs[3].startedAt! >= firstEnd, "the fourth waited for a free slot");
    const starts = runs.map((r) => r.startedAt!);
    assertEquals([...starts].sort((a, b) => a - b), starts);
    // Never more than three chat requests open at once on the server.
    const chats = h.lm.chatRequests();
    const overlapping = chats.map((c) =>
      chats.filter((o) => o.startedAt <= c.startedAt && (o.finishedAt ?? Infinity) > c.startedAt)
        .length
    );
    assertEquals(Math.max(...overlapping), 3);
    const { events } = await readSse(`${h.url}/api/research/${ids[3]}/events`);
    assertEquals(events.slice(0, 3).map((e) => [e.event, e.data.status ?? e.data.phase]), [
      ["status", "queued"],
      ["progress", "queued"],
      ["status", "running"],
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("cancelling a queued run ends it without calling the LLM", async () => {
  const h = await harness({
    fake: { reply: words(40), tokenDelayMs: 10 },
    env: { LDR_APP_MAX_CONCURRENT_RESEARCHES: "1" },
  });
  try {
    const a = (await h.post({ query: "first", mode: "quick" })).json.id as string;
    const b = (await h.post({ query: "second", mode: "quick" })).json.id as string;
    const res = await fetch(`${h.url}/api/research/${b}/cancel`, { method: "POST" });
    assertEquals((await res.json()).status, "cancelled");
    await h.waitRun(a);
    const run = await h.waitRun(b);
    assertEquals(run.status, "cancelled");
    assertEquals(run.startedAt, null);
    assertEquals(h.lm.chatRequests().length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("deleting a run removes every KV entry it had", async () => {
  const h = await harness({ fake: { reply: words(100), tokenDelayMs: 1 } });
  try {
    const { json } = await h.post({ query: "Delete me", mode: "detailed" });
    const id = json.id as string;
    const keep = (await h.post({ query: "Keep me", mode: "quick" })).json.id as string;
    await h.waitRun(id);
    await h.waitRun(keep);
    const before = await runEntryKeys(h.kv, id);
    assert(before.length >= 4, `record, index, events and text: ${before.length}`);
    const res = await fetch(`${h.url}/api/research/${id}`, { method: "DELETE" });
    assertEquals(res.status, 200);
    assertEquals(await res.json(), { id, deleted: true });
    assertEquals(await runEntryKeys(h.kv, id), []);
    // Nothing anywhere in the store still mentions the run.
    for await (const e of h.kv.list({ prefix: [] })) {
      assert(!JSON.stringify(e.key).includes(id), `left behind: ${JSON.stringify(e.key)}`);
      assert(
        !JSON.stringify(e.value ?? null).includes(id),
        `mentioned by ${JSON.stringify(e.key)}`,
      );
    }
    assertEquals((await h.get(`/api/research/${id}`)).status, 404);
    assertEquals((await fetch(`${h.url}/api/research/${id}/events`)).status, 404);
    const again = await fetch(`${h.url}/api/research/${id}`, { method: "DELETE" });
    assertEquals(again.status, 404);
    assertEquals((await again.json()).error.kind, "not_found");
    // The other run is untouched.
    assertEquals((await h.get(`/api/research/${keep}`)).status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("deleting a running run stops it first, then removes everything", async () => {
  const h = await harness({ fake: { reply: words(1000), tokenDelayMs: 10 } });
  try {
    const { json } = await h.post({ query: "Delete while running", mode: "quick" });
    const id = json.id as string;
    await h.waitRun(id, (_, text) => text.length > 10);
    const res = await fetch(`${h.url}/api/research/${id}`, { method: "DELETE" });
    assertEquals(res.status, 200);
    await h.lm.waitForAbort(undefined, 5000);
    // Give a late flush every chance to resurrect entries; none may appear.
    await new Promise((r) => setTimeout(r, 400));
    assertEquals(await runEntryKeys(h.kv, id), []);
  } finally {
    await h.close();
  }
});

Deno.test("export is Markdown with the question, settings, model, timings and the report", async () => {
  const h = await harness({ fake: { reply: "**Bold** answer with a list:\n\n- one\n- two" } });
  try {
    const { json } = await h.post({
      query: "What | is this?",
      mode: "quick",
      temperature: 0.2,
      maxTokens: 500,
    });
    const id = json.id as string;
    await h.waitRun(id);
    const res = await fetch(`${h.url}/api/research/${id}/export.md`);
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type")!, "text/markdown");
    assertMatch(
      res.headers.get("content-disposition")!,
      /attachment; filename="what-is-this-.+\.md"/,
    );
    const md = await res.text();
    assert(md.startsWith("# What | is this?\n"), md.slice(0, 80));
    assertStringIncludes(md, "## Question\n\n> What | is this?");
    assertStringIncludes(md, "| Model that answered | qwen2.5-7b-instruct |");
    assertStringIncludes(md, "| Temperature | 0.2 |");
    assertStringIncludes(md, "| Max tokens | 500 |");
    assertStringIncludes(md, "| Status | completed |");
    assertMatch(md, /\| Duration \| \d+\.\d s \|/);
    assertMatch(md, /\| Tokens \| \d+ prompt \+ \d+ completion = \d+ \|/);
    assertStringIncludes(md, "## Report\n\n**Bold** answer with a list:\n\n- one\n- two\n");
    // Every table row has the same number of unescaped cells (the "|" in the question is escaped).
    const rows = md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| |"));
    for (const row of rows) assertEquals(row.split(/(?<!\\)\|/).length, 4, row);
    assertEquals(
      h.lm.chatRequests()[0].body &&
        (h.lm.chatRequests()[0].body as { temperature: number }).temperature,
      0.2,
    );
    assertEquals((await fetch(`${h.url}/api/research/nope/export.md`)).status, 404);
  } finally {
    await h.close();
  }
});
