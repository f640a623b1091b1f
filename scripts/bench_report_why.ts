/**
 * "Why a target is not met" in docs/benchmarks.md: for each target this run missed, where the
 * remaining time or memory goes, with every number taken from this run (the tables and profiles
 * further down the same file) and the reason the rest cannot be taken away without giving up
 * something the gateway does. A met target gets no paragraph; see scripts/bench_report.ts.
 */
import type { BenchReport } from "./bench_report.ts";
import type { ProfileSummary } from "./bench_profile.ts";
import { fmt, median, type MemoryParts, percentile } from "./bench_util.ts";

const DS = "deepstudio";
const HOP = "bare hop";
const JS = "JS relay hop";

const mb = (kb: number) => `${fmt(kb / 1024, 1)} MB`;

function partsText(p: MemoryParts): string {
  return `${mb(p.executable)} the deno executable's own pages, ${
    mb(p.anonymous)
  } anonymous memory (V8 heap, thread stacks, Rust allocations), ${mb(p.mallocHeap)} malloc heap, ${
    mb(p.other)
  } other files`;
}

function topFunctions(s: ProfileSummary, n: number): string {
  return s.functions.slice(0, n).map((f) => `\`${f.name}\` (${f.area}, ${fmt(f.ms, 0)} ms)`)
    .join(", ");
}

function share(s: ProfileSummary, area: string): number {
  const ms = s.areas.filter((a) => a.area.startsWith(area)).reduce((n, a) => n + a.ms, 0);
  return (ms / Math.max(1, s.busyMs)) * 100;
}

/** The section; empty when every target of the summary was met. */
export function whySection(r: BenchReport, push: (...l: string[]) => void) {
  const out: string[] = [];
  const para = (...lines: string[]) => out.push(...lines, "");
  const idle = r.memory.idle;
  const hopIdle = r.hopMemory.idle;

  if (idle / 1024 > 60) {
    const deps = r.layers.filter((l) => !l.layer.startsWith("(")).sort((a, b) =>
      b.deltaMb - a.deltaMb
    ).slice(0, 4).map((l) => `\`${l.layer}\` +${fmt(l.deltaMb, 1)} MB`).join(", ");
    para(
      `**RSS idle (${mb(idle)}, target 60 MB).** Of it: ${partsText(r.memory.idleParts)}.`,
      `The bare hop, which loads no module and only serves and fetches, idles at ${mb(hopIdle)}`,
      `(${partsText(r.hopMemory.idleParts)}): that much is Deno itself, before any of deepstudio.`,
      `What deepstudio adds over it, ${mb(idle - hopIdle)}, is its start-up graph; the largest`,
      `layers (table "Where the idle memory and the start-up time go"): ${deps}. The settings`,
      "schema (plain data and a plain validator, no zod) is needed by the first request of any",
      "kind (every request reads the validated settings), KV by the settings, and the router by",
      "every request; every other",
      "route file (research, sources, the Library, providers, the OpenAPI document, the HTML",
      "pages), the openai SDK, the Library's index and PDF/DOCX/HTML extraction load on first",
      "use (routes/lazy.ts; tests/distribution/startup_graph_test.ts), and the request path sets",
      "no `setTimeout`, whose first call would load Deno's Node timers module (lib/timer.ts).",
    );
  }
  if (r.memory.perStreamKb > 100) {
    para(
      `**RSS per open stream (${fmt(r.memory.perStreamKb, 1)} KB, target 100 KB).** The bare hop`,
      `holds ${fmt(r.hopMemory.perStreamKb, 1)} KB per stream with no JavaScript at all (two HTTP`,
      "connections, their buffers and tasks on the Rust side); passing the bytes through",
      `JavaScript and nothing else (the JS relay hop) costs ${
        fmt(r.jsHopMemory.perStreamKb, 1)
      } KB:`,
      "a ReadableStream pair with their controllers, readers and pending promises, and the",
      `incoming Request object. deepstudio's own state on top of that (the stream guard, the`,
      `idle-timeout entry, the abort wiring, the router's context) measures ${
        fmt(r.memory.perStreamKb - r.jsHopMemory.perStreamKb, 1)
      } KB here`,
      "(within the noise of RSS sampling when it is near zero or below). A",
      "relay that must see the bytes (idle timeout, usage stripping, redacting error events)",
      "cannot avoid the JavaScript stream objects.",
    );
  }
  const raw = r.flat.filter((f) => f.client === "raw socket");
  const fps = (row: (typeof raw)[number], t: string) => median(row.framesPerS[t]);
  if (raw.some((f) => fps(f, DS) / fps(f, HOP) < 0.8)) {
    const rows = raw.map((f) =>
      `×${f.streams}: JS relay hop ${
        fmt((fps(f, JS) / fps(f, HOP)) * 100, 0)
      } % of the bare hop, deepstudio ${
        fmt((fps(f, DS) / fps(f, JS)) * 100, 0)
      } % of the JS relay hop`
    ).join("; ");
    const js = r.profiles.jsHop.summary;
    para(
      "**Relay capacity (target 80 % of the bare hop).** The bare hop hands the upstream body to",
      "Deno's native pipe: no byte reaches JavaScript. Any relay that looks at the bytes pays, per",
      "chunk, a read promise, a copy, an enqueue and the write op of the response; Deno's fetch",
      "hands JavaScript one chunk of the upstream's chunked body per read, which with LM Studio's",
      "one write per SSE frame is one frame per read (deepstudio reads http:// upstreams over its",
      "own HTTP/1.1 client, lib/providers/http1_client.ts, where one read takes every frame sent",
      "since the last one: the raw JS hop; https:// and proxied upstreams stay on fetch).",
      `This run: ${rows}. The JS relay hop's`,
      `profile below is that floor alone (Deno runtime ${fmt(share(js, "Deno runtime"), 0)} % and`,
      `GC ${fmt(share(js, "V8 garbage"), 0)} % of its busy time; top: ${topFunctions(js, 4)}).`,
      "deepstudio at or near 100 % of the JS relay hop means its own per-frame work (the guard,",
      "the idle clock, usage stripping) is small next to it; going under that floor needs the",
      "native pipe, which would give up the idle timeout, the stripped usage frame, redaction of",
      "secrets in error events and the cut-stream error event.",
    );
  }
  const coldMs = median(r.cold.map((c) => c.answer));
  const listenLayer = r.layers.find((l) => l.layer.startsWith("Deno.serve"));
  const startCpu = r.layers.slice(1).sort((a, b) => b.deltaCpuMs - a.deltaCpuMs).slice(0, 4).map((
    l,
  ) => `\`${l.layer}\` +${fmt(l.deltaCpuMs, 1)} ms`).join(", ");
  if (coldMs > 200) {
    const listening = median(r.cold.map((c) => c.listening));
    para(
      `**Cold start (${fmt(coldMs, 0)} ms, target 200 ms).** Spawn → listening ${
        fmt(listening, 0)
      } ms,`,
      `listening → first answer ${fmt(coldMs - listening, 0)} ms (the first request compiles its`,
      `path). The bare hop, a one-file Deno server, takes ${
        r.hopStartMs.map((m) => fmt(m, 0)).join(" / ")
      } ms from spawn to listening`,
      "on this machine at this load: that part is Deno's own start (runtime snapshot, module",
      "resolution and the code cache), paid by any Deno program.",
      ...(startCpu.length
        ? [
          `In CPU (table "Where the idle memory and the start-up time go"), the empty script takes ${
            fmt(r.layers[0].cpuMs, 0)
          } ms`,
          `and the whole start-up up to listening ${
            fmt(listenLayer?.cpuMs ?? 0, 0)
          } ms; the largest layers: ${startCpu}.`,
          "No schema library loads before the first answer: the settings validate with plain",
          "code (lib/settings/check.ts; tests/distribution/startup_graph_test.ts pins zod out).",
        ]
        : []),
    );
  }
  const back = (r.afterLoadRss / idle - 1) * 100;
  if (back > 20) {
    const a = r.afterLoadParts;
    const i = r.memory.idleParts;
    para(
      `**RSS after the load (+${fmt(back, 0)} %, target +20 %).** Grown since idle: anonymous`,
      `${mb(a.anonymous - i.anonymous)}, malloc heap ${mb(a.mallocHeap - i.mallocHeap)}, the`,
      `executable's pages ${mb(a.executable - i.executable)}. V8 gives its heap back once its`,
      `allocation rate has been low for a few seconds (the memory reducer, started early by ${
        r.v8Flags || "the V8 flags"
      });`,
      "the malloc heap is the C allocator's main arena, where the main thread's native",
      "allocations go (Deno runs its HTTP server, fetch and the backing stores of JavaScript's",
      "ArrayBuffers on that thread): glibc hands back only the free top of that heap, so what",
      ...(r.mallocTunables
        ? [
          `load fragmented stays resident for reuse, less so with \`GLIBC_TUNABLES=${r.mallocTunables}\``,
          "(set by the start task and the image: blocks from 16 KB up get mappings of their own,",
          "returned on free, which count as anonymous memory while they live, such as what the",
          "keep-alive connections the fetch client pools to the upstream after the load hold;",
          "docs/decisions/v8-flags.md); pages of the executable once touched stay resident too",
          "(shared with every other deno process).",
        ]
        : [
          "load fragmented stays resident for reuse; pages of the executable once touched stay",
          "resident too (they are shared with every other deno process). Neither is something V8",
          "flags or deepstudio's code can return.",
        ]),
    );
  }
  const doc1 = r.docs.find((d) => d.c === 1)!;
  const docOver = median(doc1.ms[DS]) - median(doc1.ms[HOP]);
  const ttftMiss = r.levels.filter((l) =>
    percentile(l.ttft[DS], 50) - percentile(l.ttft[HOP], 50) > 0.3
  );
  if (docOver > 0.5 || ttftMiss.length) {
    const d = r.profiles.document.summary;
    para(
      `**Added latency (non-stream c=1 +${fmt(docOver)} ms over the bare hop, target 0.5 ms;`,
      `TTFT p50 over target at c=${ttftMiss.map((l) => l.c).join(", ") || "none"}).** deepstudio's`,
      `own work before forwarding (Server-Timing \`ds\`) has p50 ${
        r.levels.map((l) => `${fmt(median(l.ds))} ms at c=${l.c}`).join(", ")
      };`,
      "at high concurrency that figure includes waiting for the one JavaScript thread that every",
      "request in flight shares (and for a core: the machine has two, shared with the client, the",
      "mock and the hops); the rest of the gap is the CPU each request costs:",
      "the non-stream profile below spends its time in Deno's HTTP",
      `server, fetch and streams (Deno runtime ${fmt(share(d, "Deno runtime"), 0)} %, native ${
        fmt(share(d, "native"), 0)
      } %,`,
      `GC ${fmt(share(d, "V8 garbage"), 0)} %, deepstudio's own files ${
        fmt(share(d, "deepstudio"), 0)
      } %; top: ${topFunctions(d, 5)}). The`,
      "request's own checks (host and cross-site guards, body cap and read deadline, settings,",
      "model planning, error mapping) are what the gateway is for.",
    );
  }
  const worst =
    r.disconnects.map((d) => ({ d, max: Math.max(...d.gateway.lags) })).sort((a, b) =>
      b.max - a.max
    )[0];
  if (worst && worst.max > 50) {
    const { d } = worst;
    const others = r.disconnects.filter((x) => x !== d).map((x) =>
      `${fmt(x.gateway.p50)} / ${fmt(Math.max(...x.gateway.lags))} ms`
    ).join(", ");
    para(
      `**Disconnect (worst phase "${d.phase.name}", max ${fmt(worst.max)} ms, target 50 ms).**`,
      `p50 / max there: direct ${fmt(d.direct.p50)} / ${
        fmt(Math.max(...d.direct.lags))
      } ms, through deepstudio ${fmt(d.gateway.p50)} /`,
      `${fmt(worst.max)} ms; the other phases through deepstudio (p50 / max): ${others}, so the`,
      "relay's abort path itself is fast where nothing else is waiting. This run does not profile",
      "where the extra time of this one phase goes (an open question, not a claimed floor).",
    );
  }
  if (!out.length) return;
  push(
    "## Why the targets above that are not met are not met",
    "",
    "Generated from this run's numbers (scripts/bench_report_why.ts).",
    "",
    ...out,
  );
}
