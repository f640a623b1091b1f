/**
 * A collection's life past its first indexing: a paused job resumes by itself when the embedding
 * server answers again; a model change re-indexes into a new space while searches keep using the
 * old one, which is swapped out only when the new one is complete; a URL is imported through the
 * safe fetcher (a local server, allowed by `search.allow_private_urls`), redirect included.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import { sseFrames, startLibrary } from "./library_fixture.ts";

const NOMIC = "text-embedding-nomic-embed-text-v1.5";
const BGE = "text-embedding-bge-small-en-v1.5";

/** `promise`, or a failure naming `what` if it has not settled in `ms` (a hang guard only). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Models the fake was asked to embed the search query "walrus number 4" with, in order. */
function queryModels(requests: { model: string; input: string[] }[]): string[] {
  return requests.filter((r) => r.input.some((t) => t.endsWith("walrus number 4")))
    .map((r) => r.model);
}

async function writeWalrusDocs(root: string, count: number) {
  for (let i = 0; i < count; i++) {
    await Deno.writeTextFile(
      `${root}/doc${i}.txt`,
      `Document ${i} talks about walrus number ${i}.`,
    );
  }
}

Deno.test("a paused collection resumes by itself once the embedding server answers again", async () => {
  const lib = await startLibrary({ resumePollMs: 50 });
  try {
    await writeWalrusDocs(lib.root, 5);
    const id = (await lib.api("POST", "/api/collections", { name: "auto" })).body.id;
    await lib.fake.down();
    const paused = await lib.watch(id);
    await lib.api("POST", `/api/collections/${id}/documents`, { path: lib.root });
    assertEquals((await paused.settled()).at(-1)!.data.state, "paused");
    const resumed = await lib.watch(id);
    lib.fake.up(); // and nothing else: no resume request
    const events = await within(resumed.settled(), 30_000, "the paused job resuming by itself");
    assertEquals(events.at(-1)!.data.state, "idle");
    const docs = (await lib.api("GET", `/api/collections/${id}/documents`)).body.documents;
    assertEquals(docs.map((d: { state: string }) => d.state), Array(5).fill("indexed"));
  } finally {
    await lib.close();
  }
});

Deno.test("a model change re-indexes; the old index answers until the new one replaces it", async () => {
  const lib = await startLibrary({ fake: { dims: 64, dimsByModel: { [BGE]: 48 } } });
  try {
    await writeWalrusDocs(lib.root, 6);
    const id = (await lib.api("POST", "/api/collections", { name: "models" })).body.id;
    const first = await lib.watch(id);
    await lib.api("POST", `/api/collections/${id}/documents`, { path: lib.root });
    assertEquals((await first.settled()).at(-1)!.data.state, "idle");

    lib.fake.set({ delayMs: 200 });
    const abort = new AbortController();
    const frames = sseFrames(`${lib.url}/api/collections/${id}/events`, abort.signal);
    await frames.next();
    const started = await lib.api("POST", `/api/collections/${id}/reindex`, { model: BGE });
    assertEquals(started.status, 202);
    assertEquals([started.body.index.model, started.body.building.model], [NOMIC, BGE]);
    const next = async () => {
      const { done, value } = await frames.next();
      if (done) throw new Error("the event stream ended");
      return value;
    };
    for (;;) {
      const e = await next();
      if (e.type === "progress" && e.data.docsDone >= 1 && e.data.state === "indexing") break;
    }
    // Mid-way: the complete old index answers, queried with the old model.
    const during = (await lib.api("GET", "/api/search?q=walrus%20number%204")).body;
    assertEquals(during.degraded, undefined);
    assertEquals(during.results[0].name, "doc4.txt");
    assert(during.results[0].scores.vector !== undefined);
    assertEquals(queryModels(lib.fake.requests), [NOMIC]);
    const mid = (await lib.api("GET", `/api/collections/${id}`)).body;
    assertEquals([mid.index.generation, mid.building?.generation], [1, 2]);
    for (;;) {
      const e = await next();
      if (e.type === "collection" && e.data.state === "idle") break;
    }
    abort.abort();

    const after = (await lib.api("GET", `/api/collections/${id}`)).body;
    assertEquals([after.index.model, after.index.generation, after.index.dimensions], [BGE, 2, 48]);
    assertEquals(after.building, null);
    const found = (await lib.api("GET", "/api/search?q=walrus%20number%204")).body;
    assertEquals(found.results[0].name, "doc4.txt");
    assert(found.results[0].scores.vector !== undefined);
    assertEquals(queryModels(lib.fake.requests), [NOMIC, BGE]);
    const index = await openSqliteIndex(lib.dataDir);
    const spaces = (await index.names()).filter((n) => n.includes(id.replace(/-/g, "")));
    await index.close();
    assertEquals(spaces.map((n) => n.slice(-3)), ["_g2"]); // the old space is gone
  } finally {
    await lib.close();
  }
});

Deno.test("a URL is imported through the safe fetcher when private addresses are allowed", async () => {
  const lib = await startLibrary();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/go") return new Response(null, { status: 302, headers: { location: "/tides" } });
    if (path !== "/tides") return new Response("not found", { status: 404 });
    const body = `<html><head><title>Tide tables</title></head><body><article><h1>Tides</h1>${
      "<p>Neap tides come when the sun and the moon pull at right angles to each other.</p>"
        .repeat(3)
    }</article></body></html>`;
    return new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });
  });
  const site = { url: `http://127.0.0.1:${server.addr.port}` };
  try {
    const id = (await lib.api("POST", "/api/collections", { name: "web" })).body.id;
    const refused = await lib.api("POST", `/api/collections/${id}/documents`, {
      url: `${site.url}/go`,
    });
    assertEquals(refused.status, 403);
    const allowed = await lib.api("PATCH", "/api/settings", { "search.allow_private_urls": true });
    assertEquals(allowed.status, 200);
    const following = await lib.watch(id);
    const added = await lib.api("POST", `/api/collections/${id}/documents`, {
      url: `${site.url}/go`,
    });
    assertEquals(added.status, 201, JSON.stringify(added.body));
    assertEquals((await following.settled()).at(-1)!.data.state, "idle");
    const [doc] = (await lib.api("GET", `/api/collections/${id}/documents`)).body.documents;
    assertEquals([doc.state, doc.name, doc.title], ["indexed", "tides.html", "Tide tables"]);
    assertEquals(doc.source, { kind: "url", url: `${site.url}/tides` });
    const hit = (await lib.api("GET", "/api/search?q=neap%20tides%20right%20angles")).body
      .results[0];
    assertEquals(hit.documentId, doc.id);
    assertStringIncludes(hit.text, "Neap tides");
  } finally {
    await server.shutdown();
    await lib.close();
  }
});
