/**
 * deepstudio as real processes on one data directory (kill -9, two instances): the documents
 * they index, the command line, and the check that a collection ended indexed exactly once.
 */
import { assertEquals } from "../assert.ts";
import { ROOT, RUN_PERMISSIONS } from "../distribution/process.ts";
import { extractDocument } from "../../lib/extract/extract.ts";
import { chunkBlocks } from "../../lib/library/chunk.ts";
import { openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import { sseFrames } from "./library_fixture.ts";

/** Writes `count` text documents of a few chunks each under `root`. */
export async function writeDocs(root: string, count: number): Promise<void> {
  await Deno.mkdir(root, { recursive: true });
  for (let i = 0; i < count; i++) {
    const text = Array.from(
      { length: 60 },
      (_, s) => `Document ${i} sentence ${s} mentions topic${i}x${s} and more words.`,
    ).join(" ");
    await Deno.writeTextFile(`${root}/doc${String(i).padStart(2, "0")}.txt`, text);
  }
}

/** `deno run … main.ts` on `dir/data` with `root` as the Library root and a 1 s lease. */
export function serverArgs(dir: string, root: string): string[] {
  return [
    "run",
    ...RUN_PERMISSIONS,
    `${ROOT}main.ts`,
    "--port",
    "0",
    "--kv",
    `${dir}/data/deepstudio.kv`,
    "--library-roots",
    root,
    // A dead process's jobs are taken over one second after its last lease renewal.
    "--run-lease",
    "1",
  ];
}

/** Follows a collection's events until it is no longer indexing and every document is done. */
export async function waitSettled(url: string, id: string): Promise<string> {
  const watch = new AbortController();
  try {
    for await (const e of sseFrames(`${url}/api/collections/${id}/events`, watch.signal)) {
      const state = e.type === "snapshot"
        ? e.data.collection.state
        : e.type === "collection"
        ? e.data.state
        : null;
      const pending = e.type === "snapshot" &&
        e.data.documents.some((d: { state: string }) => d.state !== "indexed");
      if (state && state !== "indexing" && !pending) return state;
    }
    return "stream ended";
  } finally {
    watch.abort();
  }
}

/**
 * Checks every document of the collection is indexed with exactly the chunks chunking its file
 * gives, stored once each (ords 0..n-1) and nothing else in the space; returns that total.
 */
export async function assertIndexedOnce(
  url: string,
  dir: string,
  root: string,
  id: string,
  count: number,
): Promise<number> {
  const docs = (await (await fetch(`${url}/api/collections/${id}/documents`)).json())
    .documents as { id: string; name: string; state: string; chunks: number }[];
  assertEquals(docs.length, count);
  const index = await openSqliteIndex(`${dir}/data/library`);
  try {
    const space = (await index.existing(`c_${id.replace(/-/g, "")}_g1`))!;
    let total = 0;
    for (const d of docs) {
      assertEquals(d.state, "indexed", `${d.name}: ${(d as { error?: string }).error}`);
      const extracted = await extractDocument(d.name, await Deno.readFile(`${root}/${d.name}`));
      const expected = chunkBlocks(extracted.blocks).length;
      total += expected;
      assertEquals(d.chunks, expected, d.name);
      assertEquals(await space.ordsOf(d.id), Array.from({ length: expected }, (_, i) => i));
    }
    assertEquals(await space.count(), total);
    return total;
  } finally {
    await index.close();
  }
}
