/**
 * The later sections of docs/benchmarks.md (memory, research, Library, the profiles); see
 * scripts/bench_report.ts.
 */
import type { LibraryBench } from "./bench_library.ts";
import { profileMarkdown } from "./bench_profile.ts";
import type { BenchReport } from "./bench_report.ts";
import { fmt, mark } from "./bench_util.ts";

export function memorySection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Memory and start-up",
    "",
    "| | deepstudio | bare hop | JS relay hop |",
    "|---|---|---|---|",
    `| RSS right after start-up | ${fmt(r.idleColdRss / 1024, 1)} MB | | |`,
    `| RSS idle, warmed up (40 streams served) | ${fmt(r.memory.idle / 1024, 1)} MB | ${
      fmt(r.hopMemory.idle / 1024, 1)
    } MB | ${fmt(r.jsHopMemory.idle / 1024, 1)} MB |`,
    `| RSS with 256 open streams | ${fmt(r.memory.open / 1024, 1)} MB | ${
      fmt(r.hopMemory.open / 1024, 1)
    } MB | ${fmt(r.jsHopMemory.open / 1024, 1)} MB |`,
    `| per open stream | ${fmt(r.memory.perStreamKb, 1)} KB | ${
      fmt(r.hopMemory.perStreamKb, 1)
    } KB | ${fmt(r.jsHopMemory.perStreamKb, 1)} KB |`,
    `| RSS 10 s after the last load (high-water mark) | ${fmt(r.afterLoadRss / 1024, 1)} MB | | |`,
    `| cold start: spawn → listening | ${
      r.cold.map((c) => fmt(c.listening, 0)).join(", ")
    } ms | | |`,
    `| cold start: spawn → first /v1 answer | ${
      r.cold.map((c) => fmt(c.answer, 0)).join(", ")
    } ms | | |`,
    `| RSS right after that first answer | ${
      r.cold.map((c) => fmt(c.rss / 1024, 1)).join(", ")
    } MB | | |`,
    "",
    "### Where the idle memory and the start-up time go",
    "",
    "scripts/bench_memory.ts: fresh processes import the start-up graph layer by layer (each row",
    "includes the rows above it); medians of the runs. CPU is the process's own, all threads",
    "(/proc/self/task/*/schedstat), so other load on the machine does not inflate it. The rest of",
    "the idle figure above is what serving and fetching cost any Deno process: compare the bare",
    "hop's idle RSS with the empty script's. What loads on first need (every /api route file but",
    "health and settings, the research code, classic zod, the openai SDK, the Library's index,",
    "PDF, DOCX and HTML extraction, the HTML pages with their SSR renderer and islands:",
    "routes/lazy.ts) is in no row.",
    "",
    "| layer | RSS after it | added | CPU after it | added |",
    "|---|---|---|---|---|",
    ...r.layers.map((l) =>
      `| \`${l.layer}\` | ${fmt(l.rssMb, 1)} MB | +${fmt(l.deltaMb, 1)} MB | ${
        fmt(l.cpuMs, 1)
      } ms | +${fmt(l.deltaCpuMs, 1)} ms |`
    ),
    "",
  );
}

export function researchSection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Research pipeline overhead",
    "",
    "scripts/bench_research.ts: deepstudio in-process against the fake LM Studio answering at once;",
    "model and network time (every upstream call, from `fetch` to its body's end) subtracted. Medians",
    "(max) over the runs, ms.",
    "",
    "| mode | segment | overhead p50 | max |",
    "|---|---|---|---|",
  );
  for (const x of r.research) {
    for (const s of x.segments) push(`| ${x.mode} | ${s.label} | ${fmt(s.ms)} | ${fmt(s.max)} |`);
    push(
      `| ${x.mode} | whole run (wall / of which upstream) | ${fmt(x.wallMs)} / ${
        fmt(x.upstreamMs)
      } | |`,
    );
  }
  push("");
}

export function libraryRow(l: LibraryBench): string {
  return [
    "scripts/bench_library.ts: the Library's index (`LibraryIndex`, lib/library/index/) in a child",
    "process, synthetic chunks (no embedding server: indexing is the index's own cost on top of",
    `the embedding calls), hybrid queries (vector + two words), ${l.searches} searches after the first.`,
    "",
    "| chunks × dims | indexing (batches of 1000) | optimize | first search (loads vectors) | search p50 / p99 | target p50 / p99 | vector recall@10 vs exact | RSS |",
    "|---|---|---|---|---|---|---|---|",
    `| ${l.chunks} × ${l.dims} | ${fmt(l.indexChunksPerS, 0)} chunks/s | ${
      fmt(l.optimizeMs, 0)
    } ms | ${fmt(l.firstSearchMs, 0)} ms | ${fmt(l.searchP50Ms)} / ${
      fmt(l.searchP99Ms)
    } ms | ≤ 20 / ≤ 50 ms ${mark(l.searchP50Ms <= 20 && l.searchP99Ms <= 50)} | ${
      l.recallAt10 === undefined ? "—" : fmt(l.recallAt10, 3)
    } | ${fmt(l.rssMb, 1)} MB |`,
    "",
    ...indexingRows(l),
  ].join("\n");
}

function indexingRows(l: LibraryBench): string[] {
  if (!l.indexing?.length) return [l.indexingNote ?? "Indexing overhead: not measured."];
  return [
    "scripts/bench_library_indexing.ts: deepstudio indexes a folder through the API against a fast",
    'embedding server (768 dims; its per-input "compute" is a wait, so it uses no core); the same',
    "requests replayed directly give the raw embedding time. The median of three runs per server",
    "speed is shown; deepstudio's main-thread CPU during the job, and how long the server had no",
    "request inside (it waited on its client), say where the difference went; the index writer's",
    "thread (FTS5 inserts and commits) and Deno KV's thread (`sw-0`) compete with both for the",
    "machine's cores.",
    "",
    "| server, per input | documents | chunks | job (import → idle) | raw embedding calls | overhead (all runs) | main-thread CPU | writer / KV thread CPU | server idle: job / raw | target |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...l.indexing.map((i) =>
      `| ${i.perInputMs} ms | ${i.documents} | ${i.chunks} | ${fmt(i.jobMs, 0)} ms | ${
        fmt(i.rawMs, 0)
      } ms | ${fmt(i.overhead * 100, 0)} % (${
        (i.overheads ?? [i.overhead]).map((o) => fmt(o * 100, 0)).join(", ")
      }) | ${fmt(i.mainCpuMs, 0)} ms | ${fmt(i.threadCpuMs?.["worker-1"] ?? NaN, 0)} / ${
        fmt(i.threadCpuMs?.["sw-0"] ?? NaN, 0)
      } ms | ${fmt(i.occupancyJob?.[0] ?? NaN, 0)} / ${
        fmt(i.occupancyRaw?.[0] ?? NaN, 0)
      } ms | ≤ 10 % ${mark(i.overhead <= 0.1)} |`
    ),
  ];
}

export function limitsSection(r: BenchReport, push: (...l: string[]) => void) {
  const { stream, document, jsHop } = r.profiles;
  push(
    "## What limits it (CPU profiles of this run)",
    "",
    "Separate processes started with `--cpu-prof` ran the same workloads after the measured runs",
    "(so profiling skewed none of the numbers above). V8 samples only JavaScript and what it calls;",
    "work on the Rust side of Deno's HTTP server and fetch (hyper, tokio, syscalls) shows as idle,",
    "so each profile also gives the process's whole CPU time from /proc.",
    "",
    "Reproduce one: `deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof main.ts --port 0 --kv :memory:`",
    "with `LDR_LLM_LMSTUDIO_URL` set to `deno run --allow-net scripts/bench_upstream.ts`'s port,",
    "send the workload, stop it with SIGTERM, then summarise with `summarize()` in",
    "scripts/bench_profile.ts (or open the .cpuprofile in Chrome DevTools).",
    "",
    `### deepstudio relaying 8 flat-out streams (raw-socket client, ${stream.count} frames)`,
    "",
    `Process CPU ${fmt(stream.cpuMs, 0)} ms = ${
      fmt((stream.cpuMs * 1000) / stream.count, 2)
    } µs per frame.`,
    "",
    ...profileMarkdown(stream.summary, { label: "frames", count: stream.count }),
    "",
    `### The JS relay hop on the same workload (${jsHop.count} frames)`,
    "",
    `Process CPU ${fmt(jsHop.cpuMs, 0)} ms = ${
      fmt((jsHop.cpuMs * 1000) / jsHop.count, 2)
    } µs per frame.`,
    "",
    ...profileMarkdown(jsHop.summary, { label: "frames", count: jsHop.count }),
    "",
    `### deepstudio answering ${document.count} non-streamed requests (c=16)`,
    "",
    `Process CPU ${fmt(document.cpuMs, 0)} ms = ${
      fmt(document.cpuMs / document.count, 3)
    } ms per request.`,
    "",
    ...profileMarkdown(document.summary, { label: "requests", count: document.count }),
    "",
  );
}
