/**
 * Turns a V8 CPU profile (`deno run --cpu-prof --cpu-prof-dir=DIR`, written when the process
 * exits) into the benchmark's "what limits it" tables: busy time by area (deepstudio's own files,
 * each npm package, Deno's runtime, native code, GC) and the functions with the most self time.
 * Nothing here is written by hand: every row comes from the profile of the run that wrote the doc.
 */
import { fmt, ROOT } from "./bench_util.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Busy time by area and by function, in ms. */
export interface ProfileSummary {
  /** Profiled wall time, ms. */
  wallMs: number;
  /** Sampled time not idle, ms. */
  busyMs: number;
  areas: { area: string; ms: number }[];
  functions: { name: string; where: string; area: string; ms: number }[];
}

/** Which part of the program a frame belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "V8 garbage collector";
  if (functionName === "(program)") return "native (Rust ops, I/O, V8 internals)";
  if (functionName === "(idle)") return "idle";
  if (url.startsWith("ext:") || url.startsWith("node:")) return "Deno runtime (JS)";
  const npm = /\/npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)\/[^/]+\//.exec(url) ??
    /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith(ROOT.href)) {
    const rel = url.slice(ROOT.href.length);
    return `deepstudio ${rel.split("/").slice(0, -1).join("/") || "."}/`;
  }
  return url ? "other JS" : "native (Rust ops, I/O, V8 internals)";
}

function shortUrl(url: string): string {
  if (url.startsWith(ROOT.href)) return url.slice(ROOT.href.length);
  const npm = /\/npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)\/[^/]+\/(.+)$/.exec(url);
  if (npm) return `${npm[1]}/${npm[2]}`;
  return url;
}

/**
 * Summarises one profile. `window` (ms after the profile's start, which is the process's start)
 * keeps only the samples of the measured workload, leaving out start-up and warm-up.
 */
export function summarize(
  profile: CpuProfile,
  top = 15,
  window?: { fromMs: number; toMs: number },
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const from = window ? profile.startTime + window.fromMs * 1000 : -Infinity;
  const to = window ? profile.startTime + window.toMs * 1000 : Infinity;
  let t = profile.startTime;
  // timeDeltas[i] is the time since the previous sample: it belongs to sample i - 1's frame.
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, { name: string; where: string; area: string; ms: number }>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame);
    if (area === "idle") continue;
    busy += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = frame.functionName || "(anonymous)";
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
    const key = `${name}@${where}`;
    const f = fns.get(key) ?? { name, where, area, ms: 0 };
    f.ms += us / 1000;
    fns.set(key, f);
  }
  return {
    wallMs: window ? window.toMs - window.fromMs : (profile.endTime - profile.startTime) / 1000,
    busyMs: busy / 1000,
    areas: [...areas].map(([area, us]) => ({ area, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}

/** Reads the one profile a process wrote into `dir`. */
export async function readProfile(dir: string): Promise<CpuProfile> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".cpuprofile")) {
      return JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)) as CpuProfile;
    }
  }
  throw new Error(`no .cpuprofile in ${dir}`);
}

/** Markdown tables for one summary; `perUnit` divides busy time into a per-request/frame cost. */
export function profileMarkdown(
  s: ProfileSummary,
  unit: { label: string; count: number },
): string[] {
  const per = (ms: number) => `${fmt((ms * 1000) / Math.max(1, unit.count), 2)} µs`;
  const lines = [
    `Profiled ${fmt(s.wallMs / 1000, 1)} s, busy ${fmt(s.busyMs, 0)} ms (${
      fmt((s.busyMs / s.wallMs) * 100, 0)
    } % of one core) for ${unit.count} ${unit.label}: ${per(s.busyMs)} per ${
      unit.label.replace(/s$/, "")
    }.`,
    "",
    `| area | busy ms | share | per ${unit.label.replace(/s$/, "")} |`,
    "|---|---|---|---|",
  ];
  for (const a of s.areas.slice(0, 10)) {
    lines.push(
      `| ${a.area} | ${fmt(a.ms, 0)} | ${fmt((a.ms / s.busyMs) * 100, 1)} % | ${per(a.ms)} |`,
    );
  }
  lines.push("", "| function (self time) | where | area | ms | share |", "|---|---|---|---|---|");
  for (const f of s.functions) {
    lines.push(
      `| \`${f.name}\` | ${f.where || "–"} | ${f.area} | ${fmt(f.ms, 1)} | ${
        fmt((f.ms / s.busyMs) * 100, 1)
      } % |`,
    );
  }
  return lines;
}
