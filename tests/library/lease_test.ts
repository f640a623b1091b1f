/**
 * Two deepstudio processes on one data directory: only the one that started a collection's
 * indexing job runs it, even when the other is told to resume it; when the first dies (kill -9)
 * the second takes the job over once the first one's lease expires, and the collection ends
 * indexed exactly once. Each process talks to its own embedding server, so the servers' logs
 * say which process embedded what.
 */
import { assert, assertEquals } from "../assert.ts";
import { startServer } from "../distribution/process.ts";
import { startFakeEmbeddings } from "../fakes/embeddings.ts";
import { sseFrames } from "./library_fixture.ts";
import { assertIndexedOnce, serverArgs, waitSettled, writeDocs } from "./process_fixture.ts";

const DOCS = 30;

type Frames = ReturnType<typeof sseFrames>;

/** Reads progress frames (without closing the stream) until `docsDone` reaches `n`. */
async function progressTo(frames: Frames, n: number): Promise<number> {
  for (;;) {
    const { done, value: e } = await frames.next();
    if (done) throw new Error("the event stream ended");
    if (e.type === "progress" && e.data.docsDone >= n) return e.data.docsDone;
  }
}

Deno.test({
  name: "two processes: one indexes a collection; the other takes over after it dies",
  sanitizeResources: false,
  async fn() {
    const fakeA = await startFakeEmbeddings({ dims: 32, delayMs: 150 });
    const fakeB = await startFakeEmbeddings({ dims: 32 });
    const dir = await Deno.makeTempDir({ prefix: "ds-lease-" });
    const root = `${dir}/docs`;
    await writeDocs(root, DOCS);
    await Deno.mkdir(`${dir}/data`);
    const args = serverArgs(dir, root);
    const a = await startServer(args, { cwd: dir, env: { LDR_LLM_LMSTUDIO_URL: fakeA.url } });
    let b: Awaited<ReturnType<typeof startServer>> | null = null;
    try {
      const send = (url: string, method: string, path: string, body: unknown) =>
        fetch(`${url}${path}`, {
          method,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then((r) => r.json());
      const id = (await send(a.url, "POST", "/api/collections", { name: "shared" })).id;
      const watchA = new AbortController();
      const framesA = sseFrames(`${a.url}/api/collections/${id}/events`, watchA.signal);
      await framesA.next();
      await send(a.url, "POST", `/api/collections/${id}/documents`, { path: root });
      await progressTo(framesA, 2);

      // B opens the Library (its start-up recovery sees the collection indexing) and is even
      // asked to resume it: it must leave the job to A.
      b = await startServer(args, { cwd: dir, env: { LDR_LLM_LMSTUDIO_URL: fakeB.url } });
      const view = await send(b.url, "PATCH", `/api/collections/${id}`, { state: "indexing" });
      assertEquals(view.state, "indexing");
      // Over two lease lengths of A working (150 ms a batch), B's watcher had its chances.
      const doneAtB = await progressTo(framesA, 2 + 14);
      watchA.abort();
      assertEquals(fakeB.requests.length, 0, "B embedded while A held the job");
      assert(doneAtB < DOCS, "A was still indexing");

      assertEquals((await a.kill("SIGKILL")).signal, "SIGKILL");
      const embeddedByA = fakeA.requests.flatMap((r) => r.input).length;
      assertEquals(await waitSettled(b.url, id), "idle");
      assert(fakeB.requests.length > 0, "B took the job over");
      const total = await assertIndexedOnce(b.url, dir, root, id, DOCS);
      const embeddedByB = fakeB.requests.flatMap((r) => r.input).length;
      // B embedded the rest, plus at most what A had in flight when it died (2 × 32).
      assert(embeddedByA + embeddedByB - total <= 64, `${embeddedByA + embeddedByB - total} twice`);
      assert(embeddedByB < total, "B resumed rather than starting over");
    } finally {
      if (!a.exited) await a.stop();
      if (b && !b.exited) await b.stop();
      await fakeA.close();
      await fakeB.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
