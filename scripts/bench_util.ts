/**
 * Small shared pieces of `deno task bench`: statistics, the processes it starts, what /proc says
 * about their CPU and memory, and the machine's load. No deepstudio imports: the benchmark
 * measures deepstudio from the outside.
 */

export const ROOT = new URL("../", import.meta.url);

/** Wall-clock ms with sub-ms precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

export function mark(ok: boolean): string {
  return ok ? "✅" : "❌";
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in 1/100 s
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  return (v.reduce((a, b) => a + b, 0) - idle) / 100;
}

/** Resident set size in KB. */
export function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** The 1, 5 and 15 minute load averages (`os.loadavg()`). */
export function loadAverage(): number[] {
  return Deno.loadavg();
}

/** CPU % of one core used by named processes over `fn`, plus everything else on the machine. */
export async function withCpu<T>(
  pids: Record<string, number>,
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: Record<string, number>; seconds: number }> {
  const before: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) before[k] = cpuSeconds(pid);
  const selfBefore = cpuSeconds("self");
  const machineBefore = machineBusySeconds();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu: Record<string, number> = {};
  let known = 0;
  for (const [k, pid] of Object.entries(pids)) {
    cpu[k] = ((cpuSeconds(pid) - before[k]) / seconds) * 100;
    known += cpu[k];
  }
  cpu.client = ((cpuSeconds("self") - selfBefore) / seconds) * 100;
  known += cpu.client;
  cpu.other = Math.max(0, ((machineBusySeconds() - machineBefore) / seconds) * 100 - known);
  return { value, cpu, seconds };
}

export interface Proc {
  child: Deno.ChildProcess;
  /** What the start-up line matched (a URL or a port). */
  url: string;
  pid: number;
  /** The last output lines, for diagnostics. */
  tail: string[];
}

/**
 * Starts a Deno process, reads stdout until `match` gives its URL, keeps draining both streams.
 * `cwd` (default: this checkout) is where relative paths such as `main.ts` resolve: an A/B runs
 * each checkout's own code from its directory.
 */
export async function spawn(
  args: string[],
  env: Record<string, string>,
  match: RegExp,
  cwd: string = ROOT.pathname,
): Promise<Proc> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  const drain = async (stream: ReadableStream<Uint8Array>, onLine?: (l: string) => void) => {
    let buf = "";
    const text = new TextDecoder();
    for await (const chunk of stream) {
      buf += text.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        keep(line);
        onLine?.(line);
      }
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no start-up line from ${args.join(" ")}: ${tail.join("\n")}`)),
      30_000,
    );
    drain(child.stdout, (line) => {
      const m = match.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    }).catch(() => {});
    drain(child.stderr).catch(() => {});
    child.status.then((s) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${s.code}: ${tail.join("\n")}`));
    });
  });
  return { child, url, pid: child.pid, tail };
}

export async function stop(p: Proc): Promise<void> {
  try {
    p.child.kill("SIGTERM");
  } catch { /* already gone */ }
  await p.child.status;
}

/** The machine the run is on. */
export async function machine() {
  const nproc = (await new Deno.Command("nproc").output()).stdout;
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  return {
    nproc: new TextDecoder().decode(nproc).trim(),
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memGb: (Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024 / 1024).toFixed(1),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

/**
 * The order of the targets in round `round`: rotated by one each round and reversed every other
 * cycle, so over 2n rounds each target runs first, middle and last equally often (three targets:
 * all six orders).
 */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  const n = targets.length;
  const k = round % n;
  const rotated = [...targets.slice(k), ...targets.slice(0, k)];
  return Math.floor(round / n) % 2 === 0 ? rotated : rotated.reverse();
}

/** A process's resident memory by kind, KB (from /proc/PID/smaps). */
export interface MemoryParts {
  /** Code and data pages of the deno executable itself (file-backed, shared between processes). */
  executable: number;
  /** Anonymous mappings: the V8 heap, thread stacks, Rust allocations in mmap'd arenas. */
  anonymous: number;
  /** The C allocator's main heap (`[heap]`). */
  mallocHeap: number;
  /** Everything else: shared libraries, Deno's caches. */
  other: number;
}

/** Where a process's RSS is, by kind of mapping. */
export function memoryParts(pid: number): MemoryParts {
  const parts: MemoryParts = { executable: 0, anonymous: 0, mallocHeap: 0, other: 0 };
  let kind: keyof MemoryParts = "other";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      kind = name === ""
        ? "anonymous"
        : name === "[heap]"
        ? "mallocHeap"
        : name === Deno.execPath()
        ? "executable"
        : name.startsWith("[anon")
        ? "anonymous"
        : "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss) parts[kind] += Number(rss[1]);
  }
  return parts;
}
