/**
 * The Library under test: the real app on a real socket, LM Studio's URL pointing at a fake
 * embedding server, a folder root with real documents of every format, and an SSE follower.
 */
import { serve, testApp } from "../helpers.ts";
import { type FakeEmbeddingOptions, startFakeEmbeddings } from "../fakes/embeddings.ts";
import { makeDocx, makePdf, makeScannedPdf, utf8 } from "./files.ts";

/** Phrases on the pages of report.pdf: page N holds PDF_PHRASES[N-1]. */
export const PDF_PHRASES = [
  "The quarterly harvest of saffron crocus doubled in the northern valley.",
  "Glacier meltwater feeds the turbines of the old hydroelectric dam.",
  "Copper wiring in the signal box corroded after the monsoon floods.",
  "Migratory cranes rest on the salt marsh every October evening.",
  "The lighthouse keeper logged forty ships during the winter storm.",
];

/** Writes the mixed folder: good files of each format plus every kind of bad one. */
export async function writeMixedFolder(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/sub`, { recursive: true });
  await Deno.writeFile(
    `${dir}/report.pdf`,
    await makePdf(PDF_PHRASES.map((p) => [p, "Filler line for the page."]), "Field report"),
  );
  await Deno.writeTextFile(
    `${dir}/notes.md`,
    "# Notes\n\nBeekeepers inspect the hives for varroa mites in spring.\n\n## Tools\n\nA smoker calms the bees.",
  );
  await Deno.writeTextFile(
    `${dir}/sub/plain.txt`,
    "The bakery sells sourdough rye on Tuesdays.\n\nCroissants sell out by nine.",
  );
  await Deno.writeFile(
    `${dir}/sub/manual.docx`,
    await makeDocx([[1, "Pump manual"], [0, "Prime the centrifugal pump before first use."]]),
  );
  await Deno.writeTextFile(
    `${dir}/page.html`,
    `<html><head><title>Tides</title></head><body><article><h1>Tides</h1>${
      "<p>Spring tides happen when the sun and the moon line up, twice every lunar month.</p>"
        .repeat(4)
    }</article></body></html>`,
  );
  await Deno.writeFile(`${dir}/scan.pdf`, await makeScannedPdf());
  await Deno.writeFile(`${dir}/empty.txt`, new Uint8Array());
  await Deno.writeFile(
    `${dir}/photo.txt`,
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3, 4]),
  );
  await Deno.writeFile(`${dir}/ignored.bin`, utf8("not a document type"));
}

/** Frames of an SSE stream. */
export async function* sseFrames(url: string, signal: AbortSignal) {
  const res = await fetch(url, { signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let at;
      while ((at = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const type = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (type && data) yield { type, data: JSON.parse(data) };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A running Library. */
export async function startLibrary(
  opts: { fake?: FakeEmbeddingOptions; roots?: boolean; resumePollMs?: number } = {},
) {
  const fake = await startFakeEmbeddings({ dims: 64, ...opts.fake });
  const dir = await Deno.makeTempDir({ prefix: "ds-library-" });
  const root = `${dir}/docs`;
  await Deno.mkdir(root);
  const t = await testApp({
    env: { LDR_LLM_LMSTUDIO_URL: fake.url },
    config: {
      libraryDir: `${dir}/data`,
      libraryRoots: opts.roots === false ? [] : [root],
      libraryResumePollMs: opts.resumePollMs,
    },
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
  /**
   * Subscribes to a collection's events and resolves once subscribed (the snapshot arrived);
   * `settled()` then resolves with every event up to the job's end (a collection event whose
   * state is idle, paused or error).
   */
  const watch = async (id: string) => {
    const abort = new AbortController();
    const frames = sseFrames(`${server.url}/api/collections/${id}/events`, abort.signal);
    // deno-lint-ignore no-explicit-any
    const seen: { type: string; data: any }[] = [(await frames.next()).value!];
    return {
      snapshot: seen[0],
      async settled() {
        for await (const e of frames) {
          seen.push(e);
          if (e.type === "collection" && ["idle", "paused", "error"].includes(e.data.state)) break;
        }
        abort.abort();
        return seen;
      },
    };
  };
  return {
    fake,
    root,
    /** The Library's data directory (index and stored files). */
    dataDir: `${dir}/data`,
    url: server.url,
    api,
    watch,
    async close() {
      t.shutdown.abort();
      await new Promise((r) => setTimeout(r, 50));
      await server.close();
      t.kv.close();
      await fake.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
