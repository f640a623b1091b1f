/**
 * Durability: deepstudio is killed with SIGKILL in the middle of indexing a folder, started
 * again on the same data, and finishes the job by itself; afterwards every document is indexed
 * exactly once (chunk counts equal to chunking the files here), no chunk is duplicated or
 * orphaned, and at most the batches in flight at the kill were embedded twice.
 */
import { assert, assertEquals } from "../assert.ts";
import { ROOT, RUN_PERMISSIONS, startServer } from "../distribution/process.ts";
import { startFakeEmbeddings } from "../fakes/embeddings.ts";
import { sseFrames } from "./library_fixture.ts";
import { extractDocument } from "../../lib/extract/extract.ts";
import { chunkBlocks } from "../../lib/library/chunk.ts";
import { openSqliteIndex } from "../../lib/library/index/sqlite.ts";

const DOCS = 24;

function docText(i: number): string {
  return Array.from(
    { length: 60 },
    (_, s) => `Document ${i} sentence ${s} mentions topic${i}x${s} and more words.`,
  ).join(" ");
}

Deno.test({
  name: "kill -9 mid-index: the restarted process resumes and the counts are exact",
  sanitizeResources: false,
  async fn() {
    const fake = await startFakeEmbeddings({ dims: 32, delayMs: 120 });
    const dir = await Deno.makeTempDir({ prefix: "ds-kill-" });
    const root = `${dir}/docs`;
    await Deno.mkdir(root);
    for (let i = 0; i < DOCS; i++) {
      await Deno.writeTextFile(`${root}/doc${String(i).padStart(2, "0")}.txt`, docText(i));
    }
    const args = [
      "run",
      ...RUN_PERMISSIONS,
      `${ROOT}main.ts`,
      "--port",
      "0",
      "--kv",
      `${dir}/data/deepstudio.kv`,
      "--library-roots",
      root,
    ];
    const env = { LDR_LLM_LMSTUDIO_URL: fake.url };
    await Deno.mkdir(`${dir}/data`);
    let server = await startServer(args, { cwd: dir, env });
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then((r) => r.json());
      const id = (await post("/api/collections", { name: "kill" })).id;
      const abort = new AbortController();
      const frames = sseFrames(`${server.url}/api/collections/${id}/events`, abort.signal);
      await frames.next();
      await post(`/api/collections/${id}/documents`, { path: root });
      for await (const e of frames) {
        if (e.type === "progress" && e.data.docsDone >= 6) break;
      }
      abort.abort();
      const status = await server.kill("SIGKILL");
      assertEquals(status.signal, "SIGKILL");
      const embeddedBefore = fake.requests.flatMap((r) => r.input).length;

      server = await startServer(args, { cwd: dir, env });
      const watch = new AbortController();
      let finalState = "";
      for await (const e of sseFrames(`${server.url}/api/collections/${id}/events`, watch.signal)) {
        const state = e.type === "snapshot"
          ? e.data.collection.state
          : e.type === "collection"
          ? e.data.state
          : null;
        const pending = e.type === "snapshot" &&
          e.data.documents.some((d: { state: string }) => d.state !== "indexed");
        if (state && state !== "indexing" && !pending) {
          finalState = state;
          break;
        }
      }
      watch.abort();
      assertEquals(finalState, "idle");
      const docs = (await (await fetch(`${server.url}/api/collections/${id}/documents`)).json())
        .documents as {
          id: string;
          name: string;
          state: string;
          chunks: number;
        }[];
      await server.stop();

      assertEquals(docs.length, DOCS);
      const index = await openSqliteIndex(`${dir}/data/library`);
      const space = (await index.existing(`c_${id.replace(/-/g, "")}_g1`))!;
      let expectedTotal = 0;
      for (const d of docs) {
        assertEquals(d.state, "indexed");
        const extracted = await extractDocument(d.name, await Deno.readFile(`${root}/${d.name}`));
        const expected = chunkBlocks(extracted.blocks).length;
        expectedTotal += expected;
        assertEquals(d.chunks, expected, d.name);
        assertEquals(await space.count(d.id), expected, `${d.name} in the index`);
        assertEquals(await space.ordsOf(d.id), Array.from({ length: expected }, (_, i) => i));
      }
      assertEquals(await space.count(), expectedTotal);
      const embeddedTotal = fake.requests.flatMap((r) => r.input).length;
      assert(embeddedBefore < expectedTotal, "the kill happened mid-way");
      // Re-embedded after the restart: at most the batches in flight (2 requests of ≤ 32).
      assert(
        embeddedTotal - expectedTotal <= 64,
        `${embeddedTotal - expectedTotal} chunks embedded twice`,
      );
      await index.close();
    } finally {
      if (!server.exited) await server.stop();
      await fake.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
