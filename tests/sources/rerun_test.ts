/**
 * A search step that re-runs (resume after a cancel mid-search) with fewer results replaces the
 * earlier attempt's sources: nothing the first attempt stored is left under the run, neither in
 * `GET /sources` nor in the report. Real sockets: fake SearXNG, fake LM Studio, app on port 0.
 */
import { assert, assertEquals } from "../assert.ts";
import type { Source } from "../../lib/sources/types.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";
import { harness } from "../research/support.ts";

/** The model's reply: for the queries step it is two search queries (one per line). */
const REPLY = "bees and smoke\nhive inspection\n";

Deno.test("re-running the search step with fewer hits leaves no stale sources", async () => {
  const first = [1, 2, 3].map((i) => ({
    url: `https://example.org/first-${i}`,
    title: `First ${i}`,
    content: `First attempt result ${i}.`,
  }));
  const second = [{
    url: "https://example.org/second",
    title: "Second",
    content: "The only result of the re-run.",
  }];
  let attempt = 1;
  const searx = startFakeSearxng({ results: () => attempt === 1 ? first : second });
  const h = await harness({
    fake: { reply: REPLY },
    env: { LDR_SEARCH_SEARXNG_URL: searx.url, LDR_SEARCH_MAX_PAGES: "0" },
  });
  try {
    // First attempt: the first query answers, every later one hangs until the run is cancelled.
    const answer = searx.results;
    searx.results = (q) => {
      searx.mode = "hang";
      return (answer as (q: string) => typeof first)(q);
    };
    const { status, json } = await h.post({
      query: "What calms bees?",
      sources: { engines: ["searxng"] },
    });
    assertEquals(status, 202, JSON.stringify(json));
    const id = json.id as string;
    const stored = async () =>
      (await Array.fromAsync(h.kv.list<Source>({ prefix: ["run_sources", id] }))).map((e) =>
        e.value
      );
    for (let i = 0; i < 500 && (await stored()).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals((await stored()).length, 3, "the first attempt stored its three sources");
    const cancel = await fetch(`${h.url}/api/research/${id}/cancel`, { method: "POST" });
    await cancel.body?.cancel();
    const cancelled = await h.waitRun(id);
    assertEquals(cancelled.status, "cancelled", cancelled.text);

    attempt = 2;
    searx.mode = "ok";
    searx.results = answer;
    const res = await fetch(`${h.url}/api/research/${id}/resume`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(res.status, 202, await res.clone().text());
    await res.body?.cancel();
    const run = await h.waitRun(id, (r) => r.status === "completed" || r.status === "failed");
    assertEquals(run.status, "completed", run.text);

    const titles = (await stored()).map((s) => s.title);
    assertEquals(titles, ["Second"], "only the re-run's source is stored");
    const body = (await h.get(`/api/research/${id}/sources`)).json as { sources: Source[] };
    assertEquals(body.sources.map((s) => s.title), ["Second"]);
    const passages = await Array.fromAsync(h.kv.list({ prefix: ["run_passages", id] }));
    assertEquals(passages.map((e) => e.key[2]), [0]);
    assert(!run.text.includes("First "), run.text);
  } finally {
    await h.close();
    await searx.close();
  }
});
