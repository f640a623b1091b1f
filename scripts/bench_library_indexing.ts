/**
 * Indexing overhead: deepstudio (a child process, as `deno task start` runs it) indexes a folder
 * of text files through the Library's API against a fast local embedding server
 * (`bench_embed_server.ts`), from the import request to the collection's `idle` event; then the
 * very same embedding requests (same batches, same two in flight as the Library's embedder) are
 * replayed straight at the server. The overhead is how much longer the whole job took than
 * those raw calls: extraction, chunking, the index commits, KV and progress events.
 *
 * Fair both ways: the replay sends the very batches the server recorded (same inputs, same
 * sizes, same order), keeps the same number in flight as the embedder (2), and reads every answer
 * whole and parses it (`res.json()`, as deepstudio's `JSON.parse` of the body), so neither side
 * skips work the other does; the replay adds nothing deepstudio would not need either. Both start
 * warm: a warm-up collection of full-sized documents is indexed first and its batches replayed
 * once, so neither the server's nor either client's first full batches (JIT) are counted.
 * What is not the same: deepstudio's job ends at the collection's `idle` event, so it includes the
 * import request, extraction, chunking, the last batch's index write and the state commits; the
 * FTS5 optimize after it does not (it runs on the index's writer thread once the collection is
 * idle and searchable). `occupancyJob`/`occupancyRaw` (ms with 0, 1, 2 requests inside the
 * server) show whether the server waited on its client.
 * The CPU columns (from /proc) say where the time went: deepstudio's process during the job,
 * the server during the job and during the replay, and the replaying client.
 * `BENCH_INDEXING_PROFILE=DIR` runs deepstudio with `--cpu-prof` and prints the job's profile
 * summary (`bench_profile.ts`) to stderr.
 */
import { cpuSeconds, ROOT, spawn, stop, wallNow } from "./bench_util.ts";
import { summarize } from "./bench_profile.ts";

/** What the indexing bench reports. */
export interface IndexingBench {
  documents: number;
  chunks: number;
  /** Import request → collection idle, ms. */
  jobMs: number;
  /** The same embedding calls replayed directly, ms. */
  rawMs: number;
  /** jobMs / rawMs − 1. */
  overhead: number;
  perInputMs: number;
  paragraphs: number;
  /** CPU ms deepstudio used during the job (all its threads), and its main (JS) thread. */
  jobCpuMs: number;
  mainCpuMs: number;
  /**
   * CPU ms of deepstudio's threads during the job, summed by thread name (the `comm` of each `/proc/PID/task` entry):
   * how much went to the index's writer Worker, V8's helpers, the runtime's I/O threads.
   */
  threadCpuMs: Record<string, number>;
  /** CPU ms the embedding server used during the job, and during the replay. */
  serverJobCpuMs: number;
  serverRawCpuMs: number;
  /** CPU ms the replaying client (this process) used. */
  rawCpuMs: number;
  /**
   * ms with 0, 1, 2 embedding requests inside the server, from the first request to the job's
   * end (and during the replay): time under 2 is time the server waited on its client.
   */
  occupancyJob: number[];
  occupancyRaw: number[];
  /**
   * ms from the import request to the server's first embedding request, and from its last answer
   * to the collection's `idle` event: the job's fixed costs around the embedding calls.
   */
  headMs: number;
  tailMs: number;
  /** When several runs were made (`bench_library.ts`): every run's overhead, this one's the median. */
  overheads?: number[];
}

const PORT_LINE = /^\{"port":(\d+)\}/;

/** Documents of the warm-up collection (each one full batch or more, as the measured ones). */
const WARM_DOCUMENTS = 4;

/** A document of `paragraphs` paragraphs (12 ≈ 5 chunks, 80 ≈ 32: a 20-page report). */
function docText(i: number, paragraphs: number): string {
  return Array.from({ length: paragraphs }, (_, p) =>
    Array.from(
      { length: 8 },
      (_, s) => `Report ${i} paragraph ${p} sentence ${s} covers topic${i}x${p}x${s} in detail.`,
    ).join(" ")).join("\n\n");
}

/** Every thread of `pid`: its name and CPU seconds so far (a thread gone since counts as 0). */
function threadCpu(pid: number): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    const tid = Number(e.name);
    try {
      const name = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/comm`).trim();
      const seconds = cpuSeconds(`${pid}/task/${tid}` as unknown as number);
      if (!Number.isNaN(seconds)) out.set(tid, { name, seconds });
    } catch {
      // the thread ended while being read
    }
  }
  return out;
}

/** Waits for the collection's job to end (a `collection` event that is not `indexing`). */
async function idle(url: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(url, { signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let sawIndexing = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return "ended";
    buf += value;
    let at;
    while ((at = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (!/^event: collection$/m.test(frame)) continue;
      const state = JSON.parse(/^data: (.*)$/m.exec(frame)![1]).state as string;
      if (state === "indexing") sawIndexing = true;
      else if (sawIndexing) return state;
    }
  }
}

async function replay(server: string, batches: string[][], inFlight: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < batches.length) {
      const input = batches[next++];
      const res = await fetch(`${server}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "text-embedding-nomic-embed-text-v1.5", input }),
      });
      await res.json();
    }
  }));
  return performance.now() - t0;
}

/** Runs the indexing-overhead bench (`documents` files) and cleans up after itself. */
export async function measureIndexing(
  documents = 40,
  paragraphs = 80,
  perInputMs = 0.3,
): Promise<IndexingBench> {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-bench-indexing-" });
  const embed = await spawn(
    ["run", "--allow-net", "scripts/bench_embed_server.ts", String(perInputMs), "768"],
    {},
    PORT_LINE,
  );
  const embedUrl = `http://127.0.0.1:${embed.url}`;
  let ds: Awaited<ReturnType<typeof spawn>> | null = null;
  try {
    await Deno.mkdir(`${dir}/docs`, { recursive: true });
    await Deno.mkdir(`${dir}/data`);
    await Deno.mkdir(`${dir}/warm`);
    for (let i = 1; i <= WARM_DOCUMENTS; i++) {
      await Deno.writeTextFile(`${dir}/warm/warm${i}.txt`, docText(-i, paragraphs));
    }
    for (let i = 0; i < documents; i++) {
      await Deno.writeTextFile(`${dir}/docs/report${i}.txt`, docText(i, paragraphs));
    }
    // Permissions change nothing of the measured work; main.ts as the start task runs it.
    const profileDir = Deno.env.get("BENCH_INDEXING_PROFILE");
    const spawnedAt = performance.now();
    ds = await spawn(
      [
        "run",
        "-A",
        ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
        new URL("main.ts", ROOT).pathname,
        "--port",
        "0",
        "--kv",
        `${dir}/data/deepstudio.kv`,
        "--library-roots",
        dir,
      ],
      { LDR_LLM_LMSTUDIO_URL: embedUrl, NO_COLOR: "1" },
      /running at (http:\/\/[^/\s]+)\//,
    );
    const post = (path: string, body: unknown) =>
      fetch(`${ds!.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    // Warm-up: a collection of a few documents like the measured ones first, so the extractors'
    // and the index's first load (once per process) is not counted, nor the JIT warm-up of
    // either side's full-sized requests: the server's first answers of full batches are several
    // times slower, and the replay's client (this process) warms up on the same batches.
    const warm = (await post("/api/collections", { name: "warm" })).id as string;
    const warmAbort = new AbortController();
    const warmed = idle(`${ds.url}/api/collections/${warm}/events`, warmAbort.signal);
    await new Promise((r) => setTimeout(r, 200));
    await post(`/api/collections/${warm}/documents`, { path: `${dir}/warm` });
    await warmed;
    warmAbort.abort();
    const warmBatches = await (await fetch(`${embedUrl}/_bench/requests`)).json() as string[][];
    await replay(embedUrl, warmBatches, 2);
    await (await fetch(`${embedUrl}/_bench/requests`)).body?.cancel();
    const occupancy = async () => {
      const o = await (await fetch(`${embedUrl}/_bench/occupancy`)).json() as {
        ms: number[];
        firstIn: number;
        lastOut: number;
      };
      return { ...o, ms: o.ms.map((ms) => Math.round(ms)) };
    };
    await occupancy();
    const id = (await post("/api/collections", { name: "bench" })).id as string;
    const abort = new AbortController();
    const ended = idle(`${ds.url}/api/collections/${id}/events`, abort.signal);
    await new Promise((r) => setTimeout(r, 200)); // subscribed before the job starts
    const cpu0 = cpuSeconds(ds.pid);
    const main = `${ds.pid}/task/${ds.pid}` as unknown as number; // the thread JS runs on
    const main0 = cpuSeconds(main);
    const threads0 = threadCpu(ds.pid);
    const srv0 = cpuSeconds(embed.pid);
    const t0 = performance.now();
    const wall0 = wallNow();
    await post(`/api/collections/${id}/documents`, { path: `${dir}/docs` });
    const state = await ended;
    const jobMs = performance.now() - t0;
    const wall1 = wallNow();
    const jobCpuMs = (cpuSeconds(ds.pid) - cpu0) * 1000;
    const mainCpuMs = (cpuSeconds(main) - main0) * 1000;
    const threadCpuMs: Record<string, number> = {};
    for (const [tid, t] of threadCpu(ds.pid)) {
      const name = tid === ds.pid ? "main" : t.name;
      const ms = Math.round((t.seconds - (threads0.get(tid)?.seconds ?? 0)) * 1000);
      threadCpuMs[name] = (threadCpuMs[name] ?? 0) + ms;
    }
    const serverJobCpuMs = (cpuSeconds(embed.pid) - srv0) * 1000;
    abort.abort();
    if (state !== "idle") throw new Error(`the indexing job ended ${state}`);
    const served = await occupancy();
    const occupancyJob = served.ms;
    const headMs = served.firstIn - wall0;
    const tailMs = wall1 - served.lastOut;
    const batches = await (await fetch(`${embedUrl}/_bench/requests`)).json() as string[][];
    const srv1 = cpuSeconds(embed.pid);
    const self0 = cpuSeconds("self");
    const rawMs = await replay(embedUrl, batches, 2);
    const rawCpuMs = (cpuSeconds("self") - self0) * 1000;
    const serverRawCpuMs = (cpuSeconds(embed.pid) - srv1) * 1000;
    const occupancyRaw = (await occupancy()).ms;
    if (profileDir) {
      await stop(ds);
      ds = null;
      const from = t0 - spawnedAt;
      const files = [...Deno.readDirSync(profileDir)].map((e) => e.name)
        .filter((n) => n.endsWith(".cpuprofile"));
      const read = async (n: string) =>
        JSON.parse(await Deno.readTextFile(`${profileDir}/${n}`)) as Parameters<
          typeof summarize
        >[0];
      const mainFile = files.find((n) => !n.includes(".worker-"));
      if (!mainFile) throw new Error(`no profile in ${profileDir}`);
      const first = await read(mainFile);
      // One profile per thread (the index's writer is a Worker): each summarised, main first.
      const summaries = [];
      for (const n of files) {
        const profile = await read(n);
        const shift = (profile.startTime - first.startTime) / 1000; // µs → ms after the main's
        summaries.push(
          summarize(profile, 25, { fromMs: from - shift, toMs: from - shift + jobMs }),
        );
      }
      console.error(JSON.stringify(summaries.sort((a, b) => b.busyMs - a.busyMs), null, 1));
    }
    return {
      documents,
      chunks: batches.reduce((n, b) => n + b.length, 0),
      jobMs,
      rawMs,
      overhead: jobMs / rawMs - 1,
      perInputMs,
      paragraphs,
      jobCpuMs,
      mainCpuMs,
      threadCpuMs,
      serverJobCpuMs,
      serverRawCpuMs,
      rawCpuMs,
      occupancyJob,
      occupancyRaw,
      headMs,
      tailMs,
    };
  } finally {
    if (ds) await stop(ds);
    await stop(embed);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const [documents, paragraphs, perInputMs] = Deno.args.map(Number);
  console.log(JSON.stringify(await measureIndexing(documents, paragraphs, perInputMs), null, 2));
}
