/**
 * A sourced run over a real Library collection: documents indexed through the Library's API
 * (embeddings from a fake llama.cpp embedding server), the answer from a fake LM Studio, and
 * every citation resolving to a stored source that names its document and heading.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { markersIn } from "../../lib/sources/citations.ts";
import type { CitationSummary, Source } from "../../lib/sources/types.ts";
import { startFakeEmbeddings } from "../fakes/embeddings.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { serve, testApp } from "../helpers.ts";

for (const mode of ["quick", "detailed"] as const) {
  Deno.test(`sourced ${mode} run over a Library collection: cited passages name document and heading`, () =>
    libraryRun(mode));
}

async function libraryRun(mode: "quick" | "detailed") {
  const emb = await startFakeEmbeddings({ dims: 64, family: "llamacpp" });
  const lm = await startFakeLmStudio({ reply: "A smoker calms the bees [1]. Unknown claim [9]." });
  const dir = await Deno.makeTempDir({ prefix: "ds-sources-lib-" });
  const root = `${dir}/docs`;
  await Deno.mkdir(root);
  await Deno.writeTextFile(
    `${root}/beekeeping.md`,
    "# Beekeeping\n\nBeekeepers inspect the hives for varroa mites in spring.\n\n## Tools\n\nA smoker calms the bees before the hive is opened.",
  );
  const t = await testApp({
    env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_LLAMACPP_URL: emb.url },
    config: { libraryDir: `${dir}/data`, libraryRoots: [root] },
  });
  const server = serve(t.app);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    const created = await api("POST", "/api/collections", { name: "Bees", provider: "llamacpp" });
    assertEquals(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assertEquals(
      (await api("POST", `/api/collections/${id}/documents`, { path: root })).status,
      201,
    );
    for (let i = 0; i < 500; i++) {
      const docs = (await api("GET", `/api/collections/${id}/documents`)).body.documents;
      if (docs?.[0]?.state === "indexed") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const started = await api("POST", "/api/research", {
      query: "What calms the bees?",
      mode,
      sources: { engines: ["library"], collections: [id] },
    });
    assertEquals(started.status, 202, JSON.stringify(started.body));
    let run: { status: string; pipeline: { name: string }[] } | null = null;
    let text = "";
    for (let i = 0; i < 500; i++) {
      const r = (await api("GET", `/api/research/${started.body.id}`)).body;
      run = r.run;
      text = r.text;
      if (["completed", "failed"].includes(run!.status)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(run?.status, "completed", text);
    const s = (await api("GET", `/api/research/${started.body.id}/sources`)).body as {
      sources: Source[];
      citations: CitationSummary;
      passages: Record<string, string>;
    };
    // Both passages of the one document (its two sections) are one source, one number.
    assertEquals(s.sources.map((x) => x.title), ["Beekeeping"]);
    assert(s.sources.every((x) => x.engine === "library" && x.state === "library"));
    // Each answer's invented [9] is removed (a detailed run answers each sub-question).
    assert(mode === "quick" ? s.citations.removed === 1 : s.citations.removed >= 1);
    const cited = s.citations.citations.find((c) => c.n === 1)!;
    const src = s.sources.find((x) => x.index === cited.source)!;
    assertEquals(src.location?.collection, id);
    assertEquals(src.location?.collectionName, "Bees");
    assertStringIncludes(s.passages[cited.passages[0]], "smoker");
    const markers = markersIn(text.split("## Sources")[0]);
    assert(markers.length >= 1 && markers.every((n) => n === 1), JSON.stringify(markers));
    assertStringIncludes(text, "(Library)");
    assertStringIncludes(text, "§ Beekeeping \\> Tools (Bees)");
  } finally {
    t.shutdown.abort();
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    t.kv.close();
    await lm.close();
    await emb.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
