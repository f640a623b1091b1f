import { assert, assertEquals } from "../assert.ts";
import { markersIn } from "../../lib/sources/citations.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";
import { startPageServer } from "../net/page_server.ts";
import { harness, spawnCrashChild, words } from "../research/support.ts";

Deno.test("a sourced run killed (-9) mid-answer resumes at its step: no second search or read", async () => {
  const srv = startPageServer();
  const searx = startFakeSearxng({
    results: [{ url: `${srv.url}/page`, title: "A page", content: "Hello from the page." }],
  });
  const lm = await startFakeLmStudio({ reply: `${words(600)} [1].`, tokenDelayMs: 10 });
  const dir = await Deno.makeTempDir();
  const path = `${dir}/deepstudio.kv`;
  const crash = spawnCrashChild(new URL("./crash_child.ts", import.meta.url), [
    path,
    lm.url,
    searx.url,
  ]);
  const child = crash.child;
  try {
    const res = await fetch(`${await crash.url}/api/research`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "Hello?", sources: { engines: ["searxng"] } }),
    });
    const { id } = await res.json();
    const peek = await Deno.openKv(path);
    let stored: RunRecord | null = null;
    for (let i = 0; i < 1000; i++) {
      stored = (await peek.get<RunRecord>(["runs", id])).value;
      const answering = stored?.pipeline.find((p) => p.name === "answer")?.state === "running";
      if (answering && stored!.textLength > 20) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    peek.close();
    assertEquals(stored?.pipeline.map((p) => p.state), ["done", "done", "done", "running"]);
    child.kill("SIGKILL");
    await child.status;
    const searches = searx.requests.length;
    const reads = srv.hits.get("/page");
    assertEquals(reads, 1);

    lm.set({ tokenDelayMs: 0 });
    const kv = await Deno.openKv(path);
    const h = await harness({
      kv,
      lm,
      env: { LDR_SEARCH_SEARXNG_URL: searx.url, LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" },
    });
    try {
      const run = await h.waitRun(id);
      assertEquals(run.status, "completed", run.text);
      assertEquals(run.resumes, 1);
      assertEquals(searx.requests.length, searches, "search was not repeated");
      assertEquals(srv.hits.get("/page"), reads, "the page was not read again");
      // The answer once (not twice), its one marker resolved to the one source.
      assertEquals(run.text.split(words(600)).length, 2);
      assertEquals(markersIn(run.text.split("## Sources")[0]), [1]);
      assert(run.text.includes("[1] A page"));
    } finally {
      await h.close();
      kv.close();
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await lm.close();
    await searx.close();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
