/**
 * Writes docs/benchmarks.md from one run's measurements. Every number in it comes from that run;
 * the prose only says what was measured and how to reproduce it.
 */
import type { LibraryBench } from "./bench_library.ts";
import type { MemoryLayer } from "./bench_memory.ts";
import type { ProfileSummary } from "./bench_profile.ts";
import { libraryRow, limitsSection, memorySection, researchSection } from "./bench_report_more.ts";
import { whySection } from "./bench_report_why.ts";
import type { ResearchOverhead } from "./bench_research.ts";
import type { Phase } from "./bench_disconnect.ts";
import type { DocLevel, FlatRow, FrameTally, TtftLevel } from "./bench_runs.ts";
import { fmt, mark, median, type MemoryParts, percentile } from "./bench_util.ts";

type Lag = { lags: number[]; missed: number; phasesSeen: string[]; p50: number };

type Memory = { idle: number; idleParts: MemoryParts; open: number; perStreamKb: number };

type Profiled = { summary: ProfileSummary; count: number; cpuMs: number };

export interface BenchReport {
  quick: boolean;
  /** How long the run took up to writing the report. */
  seconds: number;
  /** The V8 flags deepstudio ran with (those of `deno task start`). */
  v8Flags: string;
  /** The start task's GLIBC_TUNABLES ("" when it sets none). */
  mallocTunables?: string;
  started: Date;
  loadBefore: number[];
  loadAfter: number[];
  m: { nproc: string; cpu: string; memGb: string; kernel: string; deno: string; v8: string };
  cold: { listening: number; answer: number; rss: number }[];
  idleColdRss: number;
  memory: Memory;
  hopMemory: Memory;
  jsHopMemory: Memory;
  afterLoadRss: number;
  afterLoadParts: MemoryParts;
  /** Spawn → listening of the bare hops, ms. */
  hopStartMs: number[];
  levels: TtftLevel[];
  docs: DocLevel[];
  flat: FlatRow[];
  checked: Record<string, { asked: FrameTally; notAsked: FrameTally }>;
  disconnects: { phase: Phase; direct: Lag; gateway: Lag }[];
  research: ResearchOverhead[];
  library: { result: LibraryBench | null; note: string };
  layers: MemoryLayer[];
  profiles: { stream: Profiled; document: Profiled; jsHop: Profiled };
}

const DS = "deepstudio";
const HOP = "bare hop";
const JS = "JS relay hop";
const RAW = "raw JS hop";
const D = "direct";

const loadText = (l: number[]) => l.map((x) => fmt(x, 2)).join(" / ");
/** CPU ms per request over all rounds of a level. */
const cpuPer = (d: DocLevel, name: string) =>
  (d.cpuMs[name] ?? NaN) / Math.max(1, d.ms[name].length);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

export function report(r: BenchReport): string {
  const out: string[] = [];
  const push = (...l: string[]) => out.push(...l);
  const p = (l: TtftLevel, name: string, q: number) => percentile(l.ttft[name], q);
  const overHop = (l: TtftLevel, q: number) => p(l, DS, q) - p(l, HOP, q);
  const raw = r.flat.filter((f) => f.client === "raw socket");
  const ratio = (f: FlatRow, a: string, b: string) =>
    median(f.framesPerS[a]) / median(f.framesPerS[b]);
  const doc1 = r.docs.find((d) => d.c === 1)!;
  const docOver = (d: DocLevel) => median(d.ms[DS]) - median(d.ms[HOP]);
  const idleMb = r.memory.idle / 1024;
  const backPct = (r.afterLoadRss / r.memory.idle - 1) * 100;
  const coldMs = median(r.cold.map((c) => c.answer));
  const errors = r.levels.reduce((n, l) => n + l.errors[DS] + l.errors[HOP] + l.errors[D], 0) +
    r.docs.reduce((n, d) => n + d.errors[DS] + d.errors[HOP] + d.errors[D], 0);
  const tallies = [
    ...r.levels.flatMap((l) => Object.values(l.frames)),
    ...Object.values(r.checked).flatMap((c) => [c.asked, c.notAsked]),
  ];
  const mismatches = tallies.reduce((n, t) => n + t.mismatches, 0);
  const worstLag = Math.max(...r.disconnects.flatMap((d) => d.gateway.lags));
  const missed = r.disconnects.reduce((n, d) => n + d.gateway.missed, 0);
  const worstStep = Math.max(...r.research.flatMap((x) => x.segments.map((s) => s.ms)));

  push(
    "# Benchmarks",
    "",
    `Written by \`deno task bench${
      r.quick ? " --quick" : ""
    }\` (scripts/bench.ts) on ${r.started.toISOString()}.${
      r.quick ? " **Quick run: fewer samples, for smoke-testing only.**" : ""
    }`,
    "",
    `Machine: ${r.m.nproc} CPUs (\`nproc\`), ${r.m.cpu}, ${r.m.memGb} GB RAM, Linux ${r.m.kernel}; Deno ${r.m.deno} (V8 ${r.m.v8}).`,
    `Load average (1 / 5 / 15 min, \`os.loadavg()\`): ${loadText(r.loadBefore)} before the run, ${
      loadText(r.loadAfter)
    } after. Anything else running skews every number, the tails most; the "other" CPU column`,
    "below shows how much of the machine other processes used during each run.",
    `The run took ${fmt(r.seconds, 0)} s. deepstudio runs with the flags of \`deno task start\`${
      r.v8Flags ? ` (\`${r.v8Flags}\`)` : ""
    }${r.mallocTunables ? ` and its environment (\`GLIBC_TUNABLES=${r.mallocTunables}\`)` : ""}.`,
    "",
    "Targets: `direct` = the mock upstream (scripts/bench_upstream.ts, LM Studio-shaped, one write",
    "per SSE frame); `bare hop` = scripts/bench_proxy.ts handing the upstream body to Deno's native",
    "pipe (the floor of any extra Deno process); `JS relay hop` = the same with every chunk passing",
    "through JavaScript (BYOB read, copy, enqueue; nothing else); `raw JS hop` = that JavaScript pass",
    "with the upstream read over a raw socket (one read per socket read, chunked decoded in JS, as",
    "deepstudio's lib/providers/http1_client.ts does for http:// upstreams; relay capacity only);",
    "`deepstudio` = main.ts `/v1` with",
    "`--kv :memory:`. Every target gets the same requests, the same warm-up, in interleaved rounds",
    "whose order rotates and reverses. Clients of the TTFT runs do not ask for usage, so deepstudio",
    "asks upstream and strips the usage frame again (its costlier path).",
    "",
    "## Summary against the targets",
    "",
    "| metric | measured | target | |",
    "|---|---|---|---|",
  );
  for (const l of r.levels) {
    push(
      `| TTFT p50 / p99 over the bare hop, c=${l.c} | ${fmt(overHop(l, 50))} / ${
        fmt(overHop(l, 99))
      } ms | ≤ 0.3 / ≤ 2 ms | ${mark(overHop(l, 50) <= 0.3 && overHop(l, 99) <= 2)} |`,
    );
  }
  for (const f of raw) {
    push(
      `| relay capacity, raw-socket client, ×${f.streams} stream(s), deepstudio / bare hop | ${
        fmt(ratio(f, DS, HOP) * 100, 1)
      } % | ≥ 80 % | ${mark(ratio(f, DS, HOP) >= 0.8)} |`,
    );
  }
  push(
    `| non-stream p50 over the bare hop, c=1 | ${fmt(docOver(doc1))} ms | ≤ 0.5 ms | ${
      mark(docOver(doc1) <= 0.5)
    } |`,
    `| CPU per non-stream request, c=1: deepstudio (bare hop) | ${fmt(cpuPer(doc1, DS), 3)} ms (${
      fmt(cpuPer(doc1, HOP), 3)
    } ms) | halved | see below |`,
    `| RSS idle, warmed up | ${fmt(idleMb, 1)} MB | ≤ 60 MB | ${mark(idleMb <= 60)} |`,
    `| RSS per open stream | ${fmt(r.memory.perStreamKb, 1)} KB | ≤ 100 KB | ${
      mark(r.memory.perStreamKb <= 100)
    } |`,
    `| RSS 10 s after the load ended, vs idle | ${fmt(r.afterLoadRss / 1024, 1)} MB (${
      backPct >= 0 ? "+" : ""
    }${fmt(backPct, 0)} %) | ≤ +20 % | ${mark(backPct <= 20)} |`,
    `| cold start → first answer (median of ${r.cold.length}) | ${fmt(coldMs, 0)} ms | ≤ 200 ms | ${
      mark(coldMs <= 200)
    } |`,
    `| errors, all runs and targets | ${errors} | 0 | ${mark(errors === 0)} |`,
    `| frames parsed and compared with the mock's bytes | ${mismatches} differences | 0 | ${
      mark(mismatches === 0)
    } |`,
    `| disconnect → upstream closed, worst phase | ${
      fmt(worstLag)
    } ms, ${missed} missed | ≤ 50 ms | ${mark(worstLag <= 50 && missed === 0)} |`,
    `| research pipeline overhead, worst step (median) | ${fmt(worstStep)} ms | ≤ 50 ms | ${
      mark(worstStep <= 50)
    } |`,
    "| run view: no long task > 50 ms while 5000 tokens stream | asserted by tests/e2e/stream_perf_test.ts | | |",
    "",
  );
  whySection(r, push);
  ttftSection(r, push);
  docSection(r, push);
  flatSection(r, push);
  framesSection(r, push);
  disconnectSection(r, push);
  memorySection(r, push);
  researchSection(r, push);
  push("## Library", "", r.library.result ? libraryRow(r.library.result) : r.library.note, "");
  limitsSection(r, push);
  return out.join("\n");
}

function cpuCell(list: Record<string, number>[]): string {
  const keys = ["mock", HOP, DS, "client", "other"];
  return keys.map((k) => fmt(mean(list.map((c) => c[k] ?? 0)), 0)).join(" / ");
}

function ttftSection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Time to first token",
    "",
    "10 deltas per stream at a fast local server's ~2.5k tokens/s shared by the open streams, no",
    "simulated prompt processing; starts spread over one stream's length. `ds` = deepstudio's own",
    "Server-Timing (its work before forwarding). CPU = % of one core while that target ran, as",
    "mock / bare hop / deepstudio / client / other processes.",
    "",
    "| c | cadence | samples each | TTFT p50 direct / bare hop / deepstudio | p99 direct / bare hop / deepstudio | gap p99 direct / bare hop / deepstudio | ds p50 / p99 | CPU % during deepstudio's rounds | errors |",
    "|---|---|---|---|---|---|---|---|---|",
  );
  for (const l of r.levels) {
    const three = (q: number, v: Record<string, number[]>) =>
      [D, HOP, DS].map((n) => fmt(percentile(v[n], q))).join(" / ");
    push(
      `| ${l.c} | ${l.spec.intervalMs} ms | ${l.ttft[DS].length} | ${three(50, l.ttft)} ms | ${
        three(99, l.ttft)
      } ms | ${three(99, l.gaps)} ms | ${fmt(median(l.ds))} / ${fmt(percentile(l.ds, 99))} ms | ${
        cpuCell(l.cpu[DS])
      } | ${l.errors[D]} / ${l.errors[HOP]} / ${l.errors[DS]} |`,
    );
  }
  const sample = r.levels.find((l) => l.errorSample)?.errorSample;
  if (sample) push("", `First error: \`${sample.replace(/\n/g, " ").slice(0, 300)}\``);
  push("");
}

function docSection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Non-streamed answers",
    "",
    "The mock's whole JSON document at once; every body compared with the mock's bytes.",
    "",
    "| c | samples each | p50 direct / bare hop / deepstudio | p99 direct / bare hop / deepstudio | deepstudio − bare hop p50 | CPU ms per request bare hop / deepstudio | errors |",
    "|---|---|---|---|---|---|---|",
  );
  for (const d of r.docs) {
    const three = (q: number) => [D, HOP, DS].map((n) => fmt(percentile(d.ms[n], q))).join(" / ");
    push(
      `| ${d.c} | ${d.ms[DS].length} | ${three(50)} ms | ${three(99)} ms | ${
        fmt(median(d.ms[DS]) - median(d.ms[HOP]))
      } ms | ${fmt(cpuPer(d, HOP), 3)} / ${fmt(cpuPer(d, DS), 3)} | ${d.errors[D]} / ${
        d.errors[HOP]
      } / ${d.errors[DS]} |`,
    );
  }
  const sample = r.docs.find((d) => d.errorSample)?.errorSample;
  if (sample) push("", `First error: \`${sample.slice(0, 300)}\``);
  push("");
}

function flatSection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Relay capacity (flat out)",
    "",
    "The mock streams as fast as the reader takes frames (backpressure only), usage asked (pure",
    "pass-through). The raw-socket client (Deno.connect, HTTP/1.1, 256 KiB reads, frames counted as",
    "blank lines, no parsing) is far cheaper than any server here, so it measures the servers; the",
    "fetch reader is shown for comparison. Medians of the rounds; CPU is the target's own process.",
    "",
    "| client | streams | frames/s direct / bare hop / JS relay hop / raw JS hop / deepstudio | deepstudio / bare hop | deepstudio / JS relay hop | CPU µs per frame bare hop / JS relay hop / raw JS hop / deepstudio | every frame arrived |",
    "|---|---|---|---|---|---|---|",
  );
  for (const f of r.flat) {
    // A report of a run from before the raw JS hop has no such column.
    const names = [D, HOP, JS, RAW, DS].filter((n) => f.framesPerS[n]);
    const ok = names.every((n) => f.ok[n]);
    push(
      `| ${f.client} | ${f.streams} | ${
        names.map((n) => fmt(median(f.framesPerS[n]), 0)).join(" / ")
      } | ${fmt((median(f.framesPerS[DS]) / median(f.framesPerS[HOP])) * 100, 1)} % | ${
        fmt((median(f.framesPerS[DS]) / median(f.framesPerS[JS])) * 100, 1)
      } % | ${names.slice(1).map((n) => fmt(median(f.cpuUsPerFrame[n]), 2)).join(" / ")} | ${
        ok ? "yes" : "NO"
      } |`,
    );
  }
  push("");
}

function framesSection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Frames",
    "",
    "Every stream's events are parsed on the client (split at blank lines, each `data:` JSON-decoded)",
    "and compared in order with the bytes the mock sent (scripts/bench_upstream.ts `frame`). `usage",
    "stripped` counts streams whose usage-only frame the mock sent (deepstudio asked for it) and the",
    "client, which did not ask, did not get, while every other frame arrived unchanged.",
    "",
    "| run | target | streams | frames sent by the mock | frames received | usage frames sent | usage stripped | differences |",
    "|---|---|---|---|---|---|---|---|",
  );
  const row = (run: string, name: string, t: FrameTally) =>
    push(
      `| ${run} | ${name} | ${t.streams} | ${t.sent} | ${t.received} | ${t.usageSent} | ${t.usageStripped} | ${t.mismatches} |`,
    );
  for (const l of r.levels) {
    for (const [name, t] of Object.entries(l.frames)) row(`TTFT c=${l.c}`, name, t);
  }
  for (const [name, c] of Object.entries(r.checked)) {
    row("one long stream, usage asked", name, c.asked);
    row("one long stream, usage not asked", name, c.notAsked);
  }
  const first = [
    ...r.levels.flatMap((l) => Object.values(l.frames)),
    ...Object.values(r.checked)
      .flatMap((c) => [c.asked, c.notAsked]),
  ].find((t) => t.firstMismatch)?.firstMismatch;
  if (first) push("", `First difference: \`${first.replace(/\n/g, "\\n").slice(0, 300)}\``);
  push("");
}

function disconnectSection(r: BenchReport, push: (...l: string[]) => void) {
  push(
    "## Client disconnect → upstream connection closed",
    "",
    "Wall-clock time from the client's abort to the mock noticing its request was dropped. Each",
    "phase ends the request inside a different part of the relay; `mock saw` is the phase the mock",
    "itself recorded.",
    "",
    "| phase | relay code path | direct p50 / max | through deepstudio p50 / max | mock saw | missed |",
    "|---|---|---|---|---|---|",
  );
  for (const d of r.disconnects) {
    push(
      `| ${d.phase.name} | ${d.phase.path} | ${fmt(d.direct.p50)} / ${
        fmt(Math.max(...d.direct.lags))
      } ms | ${fmt(d.gateway.p50)} / ${fmt(Math.max(...d.gateway.lags))} ms | ${
        d.gateway.phasesSeen.join(", ")
      } | ${d.gateway.missed} |`,
    );
  }
  push("");
}
