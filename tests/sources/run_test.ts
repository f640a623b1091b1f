/**
 * Sourced research end to end over real sockets: a fake LM Studio, a fake SearXNG speaking its
 * documented JSON, result pages on a test server, deepstudio on port 0. Checks what the issue's
 * "citations that hold" means: every `[n]` in the finished report names a stored source, bogus
 * markers are removed and counted, `<think>` never reaches the report, pages on private
 * addresses are read only when allowed, engine failures are typed and handled.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { markersIn } from "../../lib/sources/citations.ts";
import type { CitationSummary, Source } from "../../lib/sources/types.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";
import { DEFAULT_MODELS } from "../fakes/lmstudio.ts";
import { startPageServer } from "../net/page_server.ts";
import { harness, readSse } from "../research/support.ts";

const article = Deno.readTextFileSync(new URL("../extract/pages/article.html", import.meta.url));

const REPLY = "<think>The sources say it; cite them.</think>LM Studio loads a model with a fixed " +
  "context length [1]. The loaded size is the number that counts [2][1]. An invented claim [42].";

function pages() {
  return startPageServer({
    "/article": () => new Response(article, { headers: { "content-type": "text/html" } }),
  });
}

function results(base: string) {
  return [
    {
      url: `${base}/article`,
      title: "Context windows",
      content: "Context length of loaded models.",
    },
    { url: `${base}/page`, title: "A page", content: "Hello from the page." },
    { url: `${base}/missing`, title: "Gone", content: "This page is gone but its snippet counts." },
  ];
}

interface SourcesBody {
  sources: Source[];
  citations: CitationSummary | null;
  passages: Record<string, string>;
}

async function setup(env: Record<string, string> = {}, mode: "ok" | "json_disabled" = "ok") {
  const srv = pages();
  const searx = startFakeSearxng({ mode, results: results(srv.url) });
  const h = await harness({
    fake: { reply: REPLY },
    env: { LDR_SEARCH_SEARXNG_URL: searx.url, ...env },
  });
  return {
    srv,
    searx,
    h,
    async close() {
      await h.close();
      await searx.close();
      await srv.close();
    },
  };
}

/** Every marker in the report maps to a citation whose source is stored. */
function assertCitationsHold(text: string, body: SourcesBody) {
  const cites = body.citations!.citations;
  const byN = new Map(cites.map((c) => [c.n, c]));
  const stored = new Set(body.sources.map((s) => s.index));
  const markers = markersIn(text.split("## Sources")[0]);
  assert(markers.length > 0, "the report cites something");
  for (const n of markers) {
    const c = byN.get(n);
    assert(c, `[${n}] has no citation`);
    assert(stored.has(c.source), `[${n}] names source ${c.source}, not stored`);
    for (const p of c.passages) assert(body.passages[p], `passage ${p} of [${n}] not stored`);
  }
}

Deno.test("sourced quick run: citations resolve, bogus markers go, think never shows", async () => {
  const t = await setup({ LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" });
  try {
    const { status, json } = await t.h.post({
      query: "How does LM Studio's loaded context length limit prompts?",
      sources: { engines: ["searxng"] },
    });
    assertEquals(status, 202, JSON.stringify(json));
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assert(!run.text.includes("<think>") && !run.text.includes("The sources say it"), run.text);
    assert(!run.text.includes("[42]"), run.text);
    assertStringIncludes(run.text, "## Sources");
    assertStringIncludes(run.text, "(web)");
    assertEquals(run.pipeline.map((p) => p.name), ["queries", "search", "read", "answer"]);

    const body = (await t.h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
    assertEquals(body.sources.length, 3);
    assertEquals(body.citations?.removed, 1);
    assertCitationsHold(run.text, body);
    const states = Object.fromEntries(body.sources.map((s) => [s.title, s.state]));
    assertEquals(states["A page"], "read");
    assertEquals(states["Gone"], "snippet");
    assert(t.srv.hits.get("/article")! >= 1);
    // The Sources list follows citation order: [1] first.
    const list = run.text.slice(run.text.indexOf("## Sources"));
    const first = body.citations!.citations.find((c) => c.n === 1)!;
    const firstTitle = body.sources.find((s) => s.index === first.source)!.title;
    assertStringIncludes(list.split("\n")[2], `[1] ${firstTitle}`);

    const { events } = await readSse(`${t.h.url}/api/research/${run.id}/events`);
    const types = new Set(events.map((e) => e.event));
    for (const ty of ["source", "step", "citations"]) assert(types.has(ty), `no ${ty} event`);
    const c = events.find((e) => e.event === "citations")!;
    assertEquals(c.data.removed, 1);

    const exp = await fetch(`${t.h.url}/api/research/${run.id}/export.json`);
    assertEquals(exp.status, 200);
    const doc = await exp.json();
    assertEquals(doc.question, "How does LM Studio's loaded context length limit prompts?");
    assertEquals(doc.report, run.text);
    assertEquals(doc.sources.length, 3);
    assert(Object.keys(doc.passages).length >= 1);
    const md = await (await fetch(`${t.h.url}/api/research/${run.id}/export.md`)).text();
    assertStringIncludes(md, "## Sources");
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: private result pages are not fetched by default; snippets still cite", async () => {
  const t = await setup();
  try {
    const { json } = await t.h.post({ query: "context length", sources: { engines: ["searxng"] } });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assertEquals(t.srv.hits.size, 0, "no page was requested");
    const body = (await t.h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
    assert(body.sources.every((s) => s.state === "snippet" && /loopback/.test(s.note ?? "")));
    assertCitationsHold(run.text, body);
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: every engine failing fails the run with the engine's hint", async () => {
  const t = await setup({}, "json_disabled");
  try {
    const { json } = await t.h.post({ query: "q", sources: { engines: ["searxng"] } });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "failed");
    assertStringIncludes(run.error?.hint ?? "", "search.formats");
    assertStringIncludes(run.text, "search.formats");
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: with fallback allowed, a failed engine means a labelled model answer", async () => {
  const t = await setup({ LDR_SEARCH_MODEL_FALLBACK: "true" }, "json_disabled");
  try {
    const { json } = await t.h.post({ query: "q", sources: { engines: ["searxng"] } });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assertStringIncludes(run.text, "No sources");
    assert(!run.text.includes("<think>"));
    assertEquals(run.noSources, "Every source failed");
    const exp = await (await fetch(`${t.h.url}/api/research/${run.id}/export.json`)).json();
    assertEquals(exp.noSources, "Every source failed");
    const md = await (await fetch(`${t.h.url}/api/research/${run.id}/export.md`)).text();
    assertStringIncludes(md, "searxng: no sources (Every source failed; model knowledge only)");
  } finally {
    await t.close();
  }
});

Deno.test("sourced detailed run with every engine failing: the report is labelled no sources", async () => {
  const t = await setup({ LDR_SEARCH_MODEL_FALLBACK: "true" }, "json_disabled");
  try {
    const { json } = await t.h.post({
      query: "q",
      mode: "detailed",
      sources: { engines: ["searxng"] },
    });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assert(
      run.text.startsWith("## Report\n\n_No sources: answered from the model's own knowledge."),
      run.text,
    );
    assertEquals(run.noSources, "Every source failed");
    const { events } = await readSse(`${t.h.url}/api/research/${run.id}/events`);
    const c = events.find((e) => e.event === "citations")!;
    assertEquals(c.data.noSources, "Every source failed");
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: one engine failing is a note; the others go on and the report says so", async () => {
  const t = await setup({ LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" });
  try {
    const { json } = await t.h.post({ query: "q", sources: { engines: ["searxng", "library"] } });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assertStringIncludes(run.text, "Not searched: Search engine not configured");
  } finally {
    await t.close();
  }
});

Deno.test("sourced detailed run: one numbering across sections, every marker resolves", async () => {
  const t = await setup({ LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" });
  try {
    const { json } = await t.h.post({
      query: "context windows",
      mode: "detailed",
      sources: { engines: ["searxng"] },
    });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assertEquals(run.pipeline.map((p) => p.name), [
      "plan",
      "search",
      "read",
      "research",
      "synthesis",
    ]);
    const body = (await t.h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
    assertCitationsHold(run.text, body);
    assert(!run.text.includes("[42]") && !run.text.includes("<think>"), run.text);
    assert(body.citations!.removed >= 2, "each sub-answer's bogus marker was counted");
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: a run without sources keeps today's pipeline", async () => {
  const t = await setup();
  try {
    const { json } = await t.h.post({ query: "q" });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.pipeline.map((p) => p.name), ["answer"]);
    assertEquals(t.searx.requests.length, 0);
    const exp = await (await fetch(`${t.h.url}/api/research/${run.id}/export.json`)).json();
    assertEquals(exp.noSources, "Model knowledge only: no sources were chosen");
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: resuming a failed run re-runs only the step that failed", async () => {
  const t = await setup({ LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" });
  try {
    t.h.lm.set({ fault: { kind: "server-error" } });
    const { json } = await t.h.post({ query: "context length", sources: { engines: ["searxng"] } });
    const failed = await t.h.waitRun(json.id as string);
    assertEquals(failed.status, "failed", failed.text);
    assertEquals(failed.pipeline.map((p) => p.state), ["done", "done", "done", "failed"]);
    const searches = t.searx.requests.length;
    const reads = t.srv.hits.get("/article");
    assert(searches > 0 && reads === 1);

    t.h.lm.set({ fault: null });
    const res = await fetch(`${t.h.url}/api/research/${failed.id}/resume`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(res.status, 202, await res.clone().text());
    await res.body?.cancel();
    const run = await t.h.waitRun(
      failed.id,
      (r) => r.status === "completed" || r.status === "failed",
    );
    assertEquals(run.status, "completed", run.text);
    assertEquals(t.searx.requests.length, searches, "search was not run again");
    assertEquals(t.srv.hits.get("/article"), reads, "pages were not read again");
    const body = (await t.h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
    assertCitationsHold(run.text, body);
  } finally {
    await t.close();
  }
});

Deno.test("sources request: bad engines are a 400 in the error shape; delete removes sources", async () => {
  const t = await setup({ LDR_SEARCH_ALLOW_PRIVATE_URLS: "true", LDR_SEARCH_MAX_PAGES: "1" });
  try {
    for (
      const sources of [{ engines: ["bing"] }, { engines: [] }, {
        engines: ["searxng"],
        maxSources: 0,
      }, {
        engines: ["searxng"],
        extra: 1,
      }]
    ) {
      const { status, json } = await t.h.post({ query: "q", sources });
      assertEquals(status, 400, JSON.stringify(json));
      assertEquals((json.error as { kind: string }).kind, "validation");
    }
    const { json } = await t.h.post({
      query: "q",
      sources: { engines: ["searxng"], maxSources: 2 },
    });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    const body = (await t.h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
    assertEquals(body.sources.length, 2, "maxSources per query");
    // The page budget (1): one page read, the other counts by its snippet.
    assertEquals(body.sources.filter((s) => s.state === "read").length, 1);
    assertStringIncludes(
      body.sources.find((s) => s.state === "snippet")?.note ?? "",
      "page budget",
    );

    const del = await fetch(`${t.h.url}/api/research/${run.id}`, { method: "DELETE" });
    assertEquals(del.status, 200);
    for (const prefix of [["run_sources", run.id], ["run_passages", run.id]]) {
      const left = await Array.fromAsync(t.h.kv.list({ prefix }));
      assertEquals(left.length, 0, `${prefix[0]} left behind`);
    }
    assertEquals((await t.h.kv.get(["run_citations", run.id])).versionstamp, null);
  } finally {
    await t.close();
  }
});

Deno.test("sourced run: when not one passage fits the loaded context, the run says both sizes", async () => {
  const srv = pages();
  const long = "A long snippet about loaded context windows and prompts. ".repeat(25);
  const searx = startFakeSearxng({
    results: results(srv.url).map((r) => ({ ...r, content: long })),
  });
  const tiny = {
    ...DEFAULT_MODELS[0],
    loaded_instances: [{
      ...DEFAULT_MODELS[0].loaded_instances[0],
      config: { ...DEFAULT_MODELS[0].loaded_instances[0].config, context_length: 700 },
    }],
  };
  const h = await harness({
    fake: { reply: REPLY, models: [tiny] },
    env: { LDR_SEARCH_SEARXNG_URL: searx.url },
  });
  try {
    const { status, json } = await h.post({ query: "context", sources: { engines: ["searxng"] } });
    assertEquals(status, 202, JSON.stringify(json));
    const run = await h.waitRun(json.id as string);
    assertEquals(run.status, "failed", run.text);
    assertEquals(run.error?.kind, "token_limit");
    assertEquals(run.error?.contextLength, 700);
    assert((run.error?.promptTokens ?? 0) > 700, JSON.stringify(run.error));
    assertStringIncludes(run.error?.message ?? "", "700");
  } finally {
    await h.close();
    await searx.close();
    await srv.close();
  }
});

Deno.test("sourced run: two results that redirect to one page are one source", async () => {
  const srv = startPageServer({
    "/article": () => new Response(article, { headers: { "content-type": "text/html" } }),
    "/old-link": (_req, s) =>
      new Response(null, { status: 301, headers: { location: `${s.url}/article` } }),
  });
  const searx = startFakeSearxng({
    results: [
      { url: `${srv.url}/article`, title: "Context windows", content: "Context length." },
      { url: `${srv.url}/old-link`, title: "Old link", content: "Loaded models." },
    ],
  });
  const h = await harness({
    fake: { reply: "Loaded context limits prompts [1][2]." },
    env: { LDR_SEARCH_SEARXNG_URL: searx.url, LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" },
  });
  try {
    const { json } = await h.post({ query: "context length", sources: { engines: ["searxng"] } });
    const run = await h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    const body = (await h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
    const old = body.sources.find((s) => s.title === "Old link")!;
    assertEquals(old.sameAs, body.sources.find((s) => s.title === "Context windows")!.index);
    assertStringIncludes(old.note ?? "", 'Same page as "Context windows"');
    assert(body.citations!.citations.every((c) => c.source !== old.index), "never cited");
    assert(!body.citations!.uncited.includes(old.index));
    assert(!run.text.includes("Old link"), run.text);
    assertCitationsHold(run.text, body);
    const passages = await h.kv.get(["run_passages", run.id, old.index]);
    assertEquals(passages.value, []);
  } finally {
    await h.close();
    await searx.close();
    await srv.close();
  }
});
