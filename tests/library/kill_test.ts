/**
 * Durability: deepstudio is killed with SIGKILL in the middle of indexing a folder, started
 * again on the same data, and finishes the job by itself; afterwards every document is indexed
 * exactly once (chunk counts equal to chunking the files here), no chunk is duplicated or
 * orphaned, and at most the batches in flight at the kill were embedded twice.
 */
import { assert, assertEquals } from "../assert.ts";
import { startServer } from "../distribution/process.ts";
import { startFakeEmbeddings } from "../fakes/embeddings.ts";
import { sseFrames } from "./library_fixture.ts";
import { assertIndexedOnce, serverArgs, waitSettled, writeDocs } from "./process_fixture.ts";

const DOCS = 24;

Deno.test({
  name: "kill -9 mid-index: the restarted process resumes and the counts are exact",
  sanitizeResources: false,
  async fn() {
    const fake = await startFakeEmbeddings({ dims: 32, delayMs: 120 });
    const dir = await Deno.makeTempDir({ prefix: "ds-kill-" });
    const root = `${dir}/docs`;
    await writeDocs(root, DOCS);
    const args = serverArgs(dir, root);
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
      assertEquals(await waitSettled(server.url, id), "idle");
      const expectedTotal = await assertIndexedOnce(server.url, dir, root, id, DOCS);
      await server.stop();
      const embeddedTotal = fake.requests.flatMap((r) => r.input).length;
      assert(embeddedBefore < expectedTotal, "the kill happened mid-way");
      // Re-embedded after the restart: at most the batches in flight (2 requests of ≤ 32).
      assert(
        embeddedTotal - expectedTotal <= 64,
        `${embeddedTotal - expectedTotal} chunks embedded twice`,
      );
    } finally {
      if (!server.exited) await server.stop();
      await fake.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
