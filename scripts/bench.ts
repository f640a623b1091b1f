/**
 * `deno task bench`: what the /v1 gateway costs, measured side by side against the same mock
 * upstream called directly. Three processes: the mock (scripts/bench_upstream.ts), deepstudio
 * itself (main.ts with `--kv :memory:`, its LM Studio URL pointed at the mock, so its RSS is its
 * own), and this script as the client. Loopback only, bounded loops, a couple of minutes.
 * Prints a table and writes docs/benchmarks.md with the date and the machine.
 */

const ROOT = new URL("../", import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CONTENT = encoder.encode('"content"');
const LF = 10;

// ---------- small helpers ----------

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function median(values: number[]): number {
  return percentile(values, 50);
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

function includes(hay: Uint8Array, needle: Uint8Array): boolean {
  for (let i = hay.indexOf(needle[0]); i !== -1; i = hay.indexOf(needle[0], i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

/** Counts `\n\n` event ends, carrying the previous chunk's last byte. */
function countEvents(chunk: Uint8Array, prevLast: number): number {
  let n = 0;
  let prev = prevLast;
  for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
    if ((i === 0 ? prev : chunk[i - 1]) === LF) n++;
    prev = LF;
  }
  return n;
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in 1/100 s
}

/** CPU use over a run, in % of one core: the three processes, and everything else on the box. */
interface CpuShare {
  mock: number;
  deepstudio: number;
  client: number;
  /** Other processes (a concurrent test run skews every tail: this shows it). */
  other: number;
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  return (v.reduce((a, b) => a + b, 0) - idle) / 100;
}

async function withCpu<T>(
  pids: { mock: number; deepstudio: number },
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: CpuShare }> {
  const before = {
    mock: cpuSeconds(pids.mock),
    deepstudio: cpuSeconds(pids.deepstudio),
    client: cpuSeconds("self"),
    machine: machineBusySeconds(),
  };
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const pct = (a: number, b: number) => ((b - a) / wall) * 100;
  const cpu = {
    mock: pct(before.mock, cpuSeconds(pids.mock)),
    deepstudio: pct(before.deepstudio, cpuSeconds(pids.deepstudio)),
    client: pct(before.client, cpuSeconds("self")),
    other: 0,
  };
  cpu.other = Math.max(
    0,
    pct(before.machine, machineBusySeconds()) - cpu.mock - cpu.deepstudio - cpu.client,
  );
  return { value, cpu };
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

// ---------- processes ----------

interface Proc {
  child: Deno.ChildProcess;
  url: string;
  pid: number;
  /** The last output lines, for diagnostics. */
  tail: string[];
}

/** Starts a process, reads stdout until `match` gives its URL, keeps draining both streams. */
async function spawn(args: string[], env: Record<string, string>, match: RegExp): Promise<Proc> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT.pathname,
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
    child.status.then((s) => reject(new Error(`exited with ${s.code}: ${tail.join("\n")}`)));
  });
  return { child, url, pid: child.pid, tail };
}

async function stop(p: Proc): Promise<void> {
  try {
    p.child.kill("SIGTERM");
  } catch { /* already gone */ }
  await p.child.status;
}

function startFloor(mockUrl: string): Promise<Proc> {
  return spawn(
    ["run", "--allow-net", "scripts/bench_proxy.ts", mockUrl],
    {},
    /^\{"port":(\d+)\}/,
  ).then((p) => ({ ...p, url: `http://127.0.0.1:${p.url}` }));
}

function startMock(): Promise<Proc> {
  return spawn(
    ["run", "--allow-net", "scripts/bench_upstream.ts"],
    {},
    /^\{"port":(\d+)\}/,
  ).then((p) => ({ ...p, url: `http://127.0.0.1:${p.url}` }));
}

const SERVER_FLAGS = [
  "run",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
];

/** Starts deepstudio; resolves with the process and the ms from spawn to the first 200. */
async function startDeepstudio(mockUrl: string): Promise<{ proc: Proc; coldMs: number }> {
  const t0 = performance.now();
  const proc = await spawn(
    [...SERVER_FLAGS, "main.ts", "--port", "0", "--kv", ":memory:"],
    { LDR_LLM_LMSTUDIO_URL: mockUrl, NO_COLOR: "1" },
    /running at (http:\/\/[^/\s]+)\//,
  );
  for (let i = 0; i < 2000; i++) {
    try {
      const res = await fetch(`${proc.url}/api/health`);
      await res.body?.cancel();
      if (res.status === 200) return { proc, coldMs: performance.now() - t0 };
    } catch { /* not yet */ }
    await sleep(2);
  }
  throw new Error("deepstudio never answered 200");
}

async function mockLog(mockUrl: string) {
  return await (await fetch(`${mockUrl}/_bench/log`)).json() as {
    framesSent: number;
    usageFramesSent: number;
    requests: number;
    aborts: Record<string, { at: number; phase: string }>;
  };
}

// ---------- one request ----------

interface Spec {
  deltas: number;
  intervalMs: number;
  promptMs: number;
  headerMs?: number;
}

interface StreamResult {
  ok: boolean;
  status: number;
  ttft: number;
  gaps: number[];
  frames: number;
  /** deepstudio's own Server-Timing `ds` (gateway only). */
  ds: number;
  error?: string;
}

let seq = 0;
/** No request of the benchmark may hang it: each is bounded. */
const REQUEST_TIMEOUT_MS = 60_000;

function chatBody(spec: Spec, opts: { stream: boolean; usage: boolean }, id = `r${++seq}`) {
  return JSON.stringify({
    model: "bench-model",
    messages: [{ role: "user", content: "Count to ten." }],
    max_tokens: 256,
    stream: opts.stream,
    ...(opts.usage ? { stream_options: { include_usage: true } } : {}),
    bench: { id, headerMs: 0, ...spec },
  });
}

async function streamOnce(base: string, spec: Spec, usage: boolean): Promise<StreamResult> {
  const t0 = performance.now();
  const out: StreamResult = { ok: false, status: 0, ttft: NaN, gaps: [], frames: 0, ds: NaN };
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chatBody(spec, { stream: true, usage }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    out.status = res.status;
    const timing = /ds;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "");
    if (timing) out.ds = Number(timing[1]);
    if (res.status !== 200) {
      out.error = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return out;
    }
    const reader = res.body!.getReader();
    let last = NaN;
    let prevByte = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const t = performance.now();
      out.frames += countEvents(value, prevByte);
      prevByte = value[value.length - 1];
      if (includes(value, CONTENT)) {
        if (Number.isNaN(out.ttft)) out.ttft = t - t0;
        else out.gaps.push(t - last);
        last = t;
      }
    }
    out.ok = !Number.isNaN(out.ttft);
    if (!out.ok) out.error = "no content arrived";
  } catch (e) {
    out.error = String(e);
  }
  return out;
}

// ---------- load ----------

interface LoadResult {
  results: StreamResult[];
  seconds: number;
}

async function load(
  base: string,
  concurrency: number,
  total: number,
  spec: Spec,
  usage: boolean,
): Promise<LoadResult> {
  const results: StreamResult[] = [];
  let next = 0;
  const streamMs = spec.promptMs + spec.deltas * spec.intervalMs;
  const t0 = performance.now();
  const worker = async () => {
    // Spread the starts over one stream's length so the streams do not tick in lockstep.
    await sleep(Math.random() * streamMs);
    while (next < total) {
      next++;
      results.push(await streamOnce(base, spec, usage));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { results, seconds: (performance.now() - t0) / 1000 };
}

/** Per-stream cadence: a fast local server's ~2.5k tokens/s shared by all open streams. */
const AGGREGATE_TOKENS_PER_S = 2560;

function specFor(concurrency: number): Spec {
  return {
    deltas: 10,
    intervalMs: Math.max(5, Math.round((concurrency * 1000) / AGGREGATE_TOKENS_PER_S)),
    // No simulated prompt processing: TTFT is then the pipeline's own latency, so what the
    // gateway adds is not hidden in timer jitter.
    promptMs: 0,
  };
}

const LEVELS: { c: number; total: number }[] = [
  { c: 1, total: 300 },
  { c: 16, total: 384 },
  { c: 64, total: 640 },
  { c: 256, total: 1280 },
];

interface LevelReport {
  c: number;
  spec: Spec;
  samples: number;
  errors: number;
  directTtft: number[];
  /** Through the reference hop (scripts/bench_proxy.ts). */
  floorTtft: number[];
  gatewayTtft: number[];
  directGap: number[];
  gatewayGap: number[];
  ds: number[];
  framesIn: number;
  usageStripped: number;
  framesOut: number;
  errorSample?: string;
  cpuDirect: CpuShare[];
  cpuGateway: CpuShare[];
}

async function ttftLevel(
  directUrl: string,
  gatewayUrl: string,
  floorUrl: string,
  mockUrl: string,
  level: { c: number; total: number },
  pids: { mock: number; deepstudio: number },
): Promise<LevelReport> {
  const spec = specFor(level.c);
  // Warm every path (connection pools, JIT) at this concurrency, then measure in two rounds.
  await load(directUrl, level.c, level.c, spec, false);
  await load(floorUrl, level.c, level.c, spec, false);
  await load(gatewayUrl, level.c, level.c, spec, false);
  await mockLog(mockUrl);
  const report: LevelReport = {
    c: level.c,
    spec,
    samples: 0,
    errors: 0,
    directTtft: [],
    floorTtft: [],
    gatewayTtft: [],
    directGap: [],
    gatewayGap: [],
    ds: [],
    framesIn: 0,
    usageStripped: 0,
    framesOut: 0,
    cpuDirect: [],
    cpuGateway: [],
  };
  for (let half = 0; half < 2; half++) {
    for (const mode of ["direct", "floor", "gateway"] as const) {
      const url = mode === "direct" ? directUrl : mode === "floor" ? floorUrl : gatewayUrl;
      const { value: run, cpu } = await withCpu(
        pids,
        () => load(url, level.c, level.total / 2, spec, false),
      );
      if (mode !== "floor") (mode === "direct" ? report.cpuDirect : report.cpuGateway).push(cpu);
      const log = await mockLog(mockUrl);
      for (const r of run.results) {
        if (!r.ok) {
          report.errors++;
          report.errorSample ??= r.error;
          continue;
        }
        if (mode === "direct") {
          report.directTtft.push(r.ttft);
          report.directGap.push(...r.gaps);
        } else if (mode === "floor") {
          report.floorTtft.push(r.ttft);
        } else {
          report.gatewayTtft.push(r.ttft);
          report.gatewayGap.push(...r.gaps);
          report.ds.push(r.ds);
          report.framesOut += r.frames;
          report.samples++;
        }
      }
      if (mode === "gateway") {
        report.framesIn += log.framesSent;
        report.usageStripped += log.usageFramesSent;
      }
    }
  }
  return report;
}

// ---------- flat out ----------

async function flatOut(base: string, streams: number, frames: number) {
  const spec: Spec = { deltas: frames, intervalMs: 0, promptMs: 0 };
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: streams }, () => streamOnce(base, spec, true)),
  );
  const seconds = (performance.now() - t0) / 1000;
  const received = runs.reduce((n, r) => n + r.frames, 0);
  return { framesPerSecond: received / seconds, received, ok: runs.every((r) => r.ok) };
}

// ---------- disconnects ----------

interface Phase {
  name: string;
  stream: boolean;
  spec: Spec;
  /** Waits until the phase is reached. */
  reach: (res: Promise<Response>) => Promise<void>;
}

const PHASES: Phase[] = [
  {
    name: "stream: before headers (model loading)",
    stream: true,
    spec: { deltas: 10, intervalMs: 10, promptMs: 0, headerMs: 10_000 },
    reach: () => sleep(30),
  },
  {
    name: "stream: prompt processing (headers sent)",
    stream: true,
    spec: { deltas: 10, intervalMs: 10, promptMs: 10_000 },
    reach: async (res) => {
      await res;
      await sleep(10);
    },
  },
  {
    name: "stream: mid-stream",
    stream: true,
    spec: { deltas: 100_000, intervalMs: 5, promptMs: 0 },
    reach: async (res) => {
      const reader = (await res).body!.getReader();
      for (let seen = 0; seen < 5;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (includes(value, CONTENT)) seen++;
      }
      reader.releaseLock();
    },
  },
  {
    name: "non-stream: before headers (model loading)",
    stream: false,
    spec: { deltas: 10, intervalMs: 0, promptMs: 0, headerMs: 10_000 },
    reach: () => sleep(30),
  },
  {
    name: "non-stream: generating",
    stream: false,
    spec: { deltas: 10, intervalMs: 0, promptMs: 10_000 },
    reach: () => sleep(30),
  },
];

async function disconnectLag(base: string, mockUrl: string, phase: Phase, runs: number) {
  const lags: number[] = [];
  let missed = 0;
  for (let i = 0; i < runs; i++) {
    const id = `d${++seq}`;
    const ac = new AbortController();
    const res = fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chatBody(phase.spec, { stream: phase.stream, usage: false }, id),
      signal: ac.signal,
    });
    res.catch(() => {});
    await phase.reach(res);
    const at = wallNow();
    ac.abort();
    let seen: { at: number } | undefined;
    for (let tries = 0; tries < 50 && !seen; tries++) {
      await sleep(20);
      seen = (await mockLog(mockUrl)).aborts[id];
    }
    if (seen) lags.push(seen.at - at);
    else missed++;
  }
  return { lags, missed };
}

// ---------- RSS ----------

async function openStreams(base: string, n: number) {
  const closers: (() => void)[] = [];
  const firstFrames: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const ac = new AbortController();
    firstFrames.push((async () => {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chatBody({ deltas: 100_000, intervalMs: 1000, promptMs: 0 }, {
          stream: true,
          usage: false,
        }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || includes(value, CONTENT)) break;
      }
      // Hang up the way a client does. (Aborting the signal alone does not reliably close
      // Deno's fetch connections when hundreds are open; cancelling the body does.)
      closers.push(() => {
        reader.cancel().catch(() => {});
        ac.abort();
      });
    })());
  }
  await Promise.all(firstFrames);
  return () => closers.forEach((c) => c());
}

// ---------- machine ----------

async function machine() {
  const nproc = (await new Deno.Command("nproc").output()).stdout;
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  return {
    nproc: decoder.decode(nproc).trim(),
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memGb: (Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024 / 1024).toFixed(1),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

// ---------- main ----------

function mark(ok: boolean): string {
  return ok ? "✅" : "❌";
}

async function main() {
  const started = new Date();
  const loadBefore = loadAverage();
  const m = await machine();
  console.log(`deepstudio /v1 benchmark on ${m.nproc} × ${m.cpu}, Deno ${m.deno}`);
  const mock = await startMock();
  const floor = await startFloor(mock.url);
  const cold: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { proc, coldMs } = await startDeepstudio(mock.url);
    cold.push(coldMs);
    await stop(proc);
  }
  const { proc: ds, coldMs } = await startDeepstudio(mock.url);
  cold.push(coldMs);
  const idleColdRss = rssKb(ds.pid);
  console.log(`cold start to first 200: ${cold.map((c) => fmt(c, 0)).join(", ")} ms`);

  try {
    const first = await fetch(`${ds.url}/v1/models`);
    if (first.status !== 200) throw new Error(`/v1/models: ${first.status} ${await first.text()}`);
    await first.body?.cancel();

    // Memory first, on a freshly warmed process: idle, then with 256 streams held open.
    await load(ds.url, 4, 40, specFor(4), false);
    await sleep(2000);
    const idleRss = rssKb(ds.pid);
    const close = await openStreams(ds.url, 256);
    await sleep(1000);
    const openRss = rssKb(ds.pid);
    close();
    const perStreamKb = (openRss - idleRss) / 256;
    console.log(
      `RSS idle ${fmt(idleRss / 1024, 1)} MB, with 256 open streams ${fmt(openRss / 1024, 1)} MB`,
    );
    // The same for the bare Deno hop: what Deno itself needs per proxied stream.
    await load(floor.url, 4, 40, specFor(4), false);
    await sleep(2000);
    const floorIdleRss = rssKb(floor.pid);
    const closeFloor = await openStreams(floor.url, 256);
    await sleep(1000);
    const floorOpenRss = rssKb(floor.pid);
    closeFloor();
    console.log(
      `bare hop: RSS idle ${fmt(floorIdleRss / 1024, 1)} MB, with 256 open streams ${
        fmt(floorOpenRss / 1024, 1)
      } MB`,
    );
    await sleep(1000);
    await mockLog(mock.url);

    const levels: LevelReport[] = [];
    for (const level of LEVELS) {
      const r = await ttftLevel(mock.url, ds.url, floor.url, mock.url, level, {
        mock: mock.pid,
        deepstudio: ds.pid,
      });
      levels.push(r);
      console.log(
        `c=${r.c}: TTFT p50 ${fmt(median(r.directTtft))} / ${fmt(median(r.floorTtft))} / ${
          fmt(median(r.gatewayTtft))
        } ms, p99 ${fmt(percentile(r.directTtft, 99))} / ${fmt(percentile(r.floorTtft, 99))} / ${
          fmt(percentile(r.gatewayTtft, 99))
        } ms (direct / bare hop / deepstudio), errors ${r.errors}, other CPU ${
          fmt(meanCpu(r.cpuGateway).other, 0)
        } %`,
      );
    }

    const flat: FlatRow[] = [];
    for (const streams of [1, 8]) {
      const frames = streams === 1 ? 20_000 : 4_000;
      const row: FlatRow = {
        direct: [],
        gateway: [],
        equal: true,
        streams,
        sent: 0,
        received: 0,
        cpu: [],
      };
      await flatOut(ds.url, streams, 1000); // warm
      await mockLog(mock.url);
      for (let i = 0; i < 5; i++) {
        for (const mode of ["direct", "gateway"] as const) {
          const { value: r, cpu } = await withCpu(
            { mock: mock.pid, deepstudio: ds.pid },
            () => flatOut(mode === "direct" ? mock.url : ds.url, streams, frames),
          );
          const log = await mockLog(mock.url);
          row[mode].push(r.framesPerSecond);
          if (mode === "gateway") {
            row.cpu.push(cpu);
            row.sent += log.framesSent;
            row.received += r.received;
          }
          if (!r.ok || log.framesSent !== r.received) row.equal = false;
        }
      }
      flat.push(row);
      console.log(
        `flat out ×${streams}: direct ${fmt(median(row.direct), 0)} frames/s, gateway ${
          fmt(median(row.gateway), 0)
        } frames/s`,
      );
    }

    const disconnects = [];
    for (const phase of PHASES) {
      const direct = await disconnectLag(mock.url, mock.url, phase, 15);
      const gateway = await disconnectLag(ds.url, mock.url, phase, 15);
      disconnects.push({ phase, direct, gateway });
      console.log(
        `disconnect, ${phase.name}: direct p50 ${fmt(median(direct.lags))} ms, gateway p50 ${
          fmt(median(gateway.lags))
        } / max ${fmt(Math.max(...gateway.lags))} ms, missed ${gateway.missed}`,
      );
    }

    await sleep(5000);
    const afterLoadRss = rssKb(ds.pid);

    const doc = report({
      loadBefore,
      started,
      m,
      cold,
      idleColdRss,
      idleRss,
      openRss,
      perStreamKb,
      afterLoadRss,
      floorIdleRss,
      floorOpenRss,
      levels,
      flat,
      disconnects,
    });
    console.log(`\n${doc}`);
    await Deno.writeTextFile(new URL("docs/benchmarks.md", ROOT), doc);
    console.log("written to docs/benchmarks.md");
  } finally {
    await stop(ds);
    await stop(floor);
    await stop(mock);
  }
}

interface FlatRow {
  direct: number[];
  gateway: number[];
  equal: boolean;
  streams: number;
  /** Frames the mock sent and the client received in the gateway runs. */
  sent: number;
  received: number;
  /** CPU shares during the gateway runs. */
  cpu: CpuShare[];
}

function meanCpu(list: CpuShare[]): CpuShare {
  const n = Math.max(1, list.length);
  return {
    mock: list.reduce((a, c) => a + c.mock, 0) / n,
    deepstudio: list.reduce((a, c) => a + c.deepstudio, 0) / n,
    client: list.reduce((a, c) => a + c.client, 0) / n,
    other: list.reduce((a, c) => a + c.other, 0) / n,
  };
}

function cpuText(c: CpuShare): string {
  return `${fmt(c.mock, 0)} / ${fmt(c.deepstudio, 0)} / ${fmt(c.client, 0)} / ${fmt(c.other, 0)}`;
}

interface ReportInput {
  loadBefore: string;
  started: Date;
  m: Awaited<ReturnType<typeof machine>>;
  cold: number[];
  idleColdRss: number;
  idleRss: number;
  openRss: number;
  perStreamKb: number;
  afterLoadRss: number;
  floorIdleRss: number;
  floorOpenRss: number;
  levels: LevelReport[];
  flat: FlatRow[];
  disconnects: {
    phase: Phase;
    direct: { lags: number[]; missed: number };
    gateway: { lags: number[]; missed: number };
  }[];
}

function report(r: ReportInput): string {
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(
    "# Benchmarks: the /v1 gateway",
    "",
    `Written by \`deno task bench\` (scripts/bench.ts) on ${r.started.toISOString()}.`,
    "",
    `Machine: ${r.m.nproc} CPUs (\`nproc\`), ${r.m.cpu}, ${r.m.memGb} GB RAM, Linux ${r.m.kernel}; Deno ${r.m.deno} (V8 ${r.m.v8}).`,
    `Load average before the run: ${r.loadBefore} (anything else running skews the tails).`,
    "",
    "Setup: processes on loopback: the mock upstream (scripts/bench_upstream.ts, LM Studio-shaped),",
    "deepstudio (main.ts, `--kv :memory:`, `LDR_LLM_LMSTUDIO_URL` = the mock) and the benchmark client.",
    "Every number compares the same requests sent directly to the mock and through deepstudio's `/v1`;",
    "the TTFT runs also go through a *bare Deno hop* (scripts/bench_proxy.ts: read, fetch, hand the",
    "body to Deno's native pipe), the floor any extra Deno process between client and server costs here.",
    "Clients do not ask for usage, so deepstudio adds `include_usage` upstream and strips the usage chunk",
    "again (the costlier path); the flat-out runs ask for usage (pure pass-through).",
    "",
    "## Summary against the targets",
    "",
    "| metric | measured | target | |",
    "|---|---|---|---|",
  );
  const lv = (c: number) => r.levels.find((l) => l.c === c)!;
  const added = (l: LevelReport, p: number) =>
    percentile(l.gatewayTtft, p) - percentile(l.directTtft, p);
  const hop = (l: LevelReport, p: number) =>
    percentile(l.floorTtft, p) - percentile(l.directTtft, p);
  const hopNote = (l: LevelReport, p: number) => ` (bare Deno hop: ${fmt(hop(l, p))} ms)`;
  const c1 = lv(1);
  const c256 = lv(256);
  const framesOk = r.levels.every((l) => l.framesIn - l.usageStripped === l.framesOut) &&
    r.flat.every((f) => f.equal);
  const flatRatio = median(r.flat[0].gateway) / median(r.flat[0].direct);
  const maxLag = Math.max(...r.disconnects.flatMap((d) => d.gateway.lags));
  const missed = r.disconnects.reduce((n, d) => n + d.gateway.missed, 0);
  const idleMb = r.idleRss / 1024;
  push(
    `| added TTFT p50, c=1 | ${fmt(added(c1, 50))} ms${hopNote(c1, 50)} | ≤ 0.5 ms | ${
      mark(added(c1, 50) <= 0.5)
    } |`,
    `| added TTFT p99, c=1 | ${fmt(added(c1, 99))} ms${hopNote(c1, 99)} | ≤ 1 ms | ${
      mark(added(c1, 99) <= 1)
    } |`,
    `| added TTFT p99, c=256 | ${fmt(added(c256, 99))} ms${hopNote(c256, 99)} | ≤ 5 ms | ${
      mark(added(c256, 99) <= 5)
    } |`,
    `| errors (all levels) | ${r.levels.reduce((n, l) => n + l.errors, 0)} | 0 | ${
      mark(r.levels.every((l) => l.errors === 0))
    } |`,
    `| frames in = frames out | ${framesOk ? "equal" : "DIFFERENT"} | equal | ${mark(framesOk)} |`,
    `| flat-out throughput, gateway / direct | ${fmt(flatRatio * 100, 1)} % | ≥ 90 % | ${
      mark(flatRatio >= 0.9)
    } |`,
    `| disconnect → upstream closed, worst phase | ${
      fmt(maxLag)
    } ms (${missed} missed) | ≤ 50 ms | ${mark(maxLag <= 50 && missed === 0)} |`,
    `| idle RSS (warmed up) | ${fmt(idleMb, 1)} MB | ≤ 80 MB | ${mark(idleMb <= 80)} |`,
    `| RSS per open stream | ${fmt(r.perStreamKb, 1)} KB | ≤ 100 KB | ${
      mark(r.perStreamKb <= 100)
    } |`,
    `| cold start to first 200 (median of ${r.cold.length}) | ${fmt(median(r.cold), 0)} ms | | |`,
    "",
    "## Time to first token",
    "",
    "Per-stream cadence is a fast local server's ~2.5k tokens/s shared by the open streams (10 deltas,",
    'no simulated prompt processing); starts are spread over one stream\'s length. "added" = gateway − direct',
    "at the same percentile. `ds` is deepstudio's own Server-Timing (time spent before forwarding).",
    "",
    "| c | cadence | samples | TTFT p50 direct / bare hop / deepstudio | added p50 | TTFT p99 direct / bare hop / deepstudio | added p99 | gap p99 direct → deepstudio | added gap p99 | ds p50 / p99 | CPU % mock / deepstudio / client / other | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const l of r.levels) {
    push(
      `| ${l.c} | ${l.spec.intervalMs} ms | ${l.samples} | ${fmt(median(l.directTtft))} / ${
        fmt(median(l.floorTtft))
      } / ${fmt(median(l.gatewayTtft))} ms | ${fmt(added(l, 50))} ms | ${
        fmt(percentile(l.directTtft, 99))
      } / ${fmt(percentile(l.floorTtft, 99))} / ${fmt(percentile(l.gatewayTtft, 99))} ms | ${
        fmt(added(l, 99))
      } ms | ${fmt(percentile(l.directGap, 99))} → ${fmt(percentile(l.gatewayGap, 99))} ms | ${
        fmt(percentile(l.gatewayGap, 99) - percentile(l.directGap, 99))
      } ms | ${fmt(median(l.ds))} / ${fmt(percentile(l.ds, 99))} ms | ${
        cpuText(meanCpu(l.cpuGateway))
      } (direct ${cpuText(meanCpu(l.cpuDirect))}) | ${l.errors} |`,
    );
  }
  push(
    "",
    "## Frames",
    "",
    "| run | frames sent by the mock | usage frames stripped | frames received through /v1 |",
    "|---|---|---|---|",
  );
  for (const l of r.levels) {
    push(`| TTFT c=${l.c} | ${l.framesIn} | ${l.usageStripped} | ${l.framesOut} |`);
  }
  for (const f of r.flat) {
    push(`| flat out ×${f.streams} (usage asked) | ${f.sent} | 0 | ${f.received} |`);
  }
  push(
    "",
    "## Flat-out throughput",
    "",
    "The mock streams as fast as the reader takes frames (backpressure only). Median of 5 runs.",
    "",
    "| streams | direct frames/s | gateway frames/s | gateway / direct | CPU % mock / deepstudio / client / other (gateway runs) |",
    "|---|---|---|---|---|",
  );
  for (const f of r.flat) {
    push(
      `| ${f.streams} | ${fmt(median(f.direct), 0)} | ${fmt(median(f.gateway), 0)} | ${
        fmt((median(f.gateway) / median(f.direct)) * 100, 1)
      } % | ${cpuText(meanCpu(f.cpu))} |`,
    );
  }
  push(
    "",
    "## Client disconnect → upstream connection closed",
    "",
    "Wall-clock time from the client's abort to the mock noticing its request was dropped (15 runs each).",
    "",
    "| phase | direct p50 / max | through /v1 p50 / max | missed |",
    "|---|---|---|---|",
  );
  for (const d of r.disconnects) {
    push(
      `| ${d.phase.name} | ${fmt(median(d.direct.lags))} / ${
        fmt(Math.max(...d.direct.lags))
      } ms | ${fmt(median(d.gateway.lags))} / ${
        fmt(Math.max(...d.gateway.lags))
      } ms | ${d.gateway.missed} |`,
    );
  }
  push(
    "",
    "## Memory and start-up",
    "",
    "| | value |",
    "|---|---|",
    `| RSS right after start-up | ${fmt(r.idleColdRss / 1024, 1)} MB |`,
    `| RSS idle, warmed up (40 requests served) | ${fmt(r.idleRss / 1024, 1)} MB |`,
    `| RSS with 256 open streams (right after) | ${fmt(r.openRss / 1024, 1)} MB |`,
    `| per open stream | ${fmt(r.perStreamKb, 1)} KB |`,
    `| bare Deno hop for comparison: idle → 256 open streams | ${fmt(r.floorIdleRss / 1024, 1)} → ${
      fmt(r.floorOpenRss / 1024, 1)
    } MB (${fmt((r.floorOpenRss - r.floorIdleRss) / 256, 1)} KB per stream) |`,
    `| RSS idle 5 s after all the runs above (high-water mark) | ${
      fmt(r.afterLoadRss / 1024, 1)
    } MB |`,
    `| cold start to first 200 (spawn → \`GET /api/health\` 200) | ${
      r.cold.map((c) => fmt(c, 0)).join(", ")
    } ms |`,
    "",
    ...LIMITS,
    "",
  );
  return lines.join("\n");
}

/** What profiling during development found; fixed text, the tables above are this run's. */
const LIMITS = [
  "## What limits it (profiling notes)",
  "",
  "- **An extra process hop costs more than the TTFT targets on this 2-vCPU VM.** The bare Deno hop",
  "  (no logic, native pipe) alone adds about as much as the p50 target and more than the p99",
  "  targets; three busy processes on two vCPUs make every tail scheduling-bound (the direct path",
  "  itself shows 5–10 ms outliers at c=1). deepstudio's own share is the difference between its",
  "  column and the bare hop's: `ds` (body read ≈ 0.13 ms, model/max_tokens planning ≈ 0.1 ms at",
  "  c=1), the security middleware (≈ 0.1 ms) and relaying in JS.",
  "- **The relay has to be JS.** The idle timeout, the error event after a reset and hiding the usage",
  "  chunk all need to see the bytes, so the upstream body cannot be handed to Deno's native pipe",
  "  (which the bare hop uses). A minimal JS relay (read, enqueue, nothing else) measured the same",
  "  c=256 tails as deepstudio within noise (p99 ≈ 25–35 ms vs ≈ 20 ms native), so the tail cost is",
  "  Deno's per-chunk promise/op machinery, not gateway logic.",
  "- **Fixed while profiling:** Deno's default body reader allocates a fresh 64 KiB buffer per read,",
  "  i.e. ~170 MB/s of short-lived external memory at 2.6k frames/s (GC pressure, RSS growth): the",
  "  relay reads BYOB into one 4 KiB buffer per stream and copies out exactly the bytes read. The",
  "  per-request idle timer became one shared sweeper. Frame search for the usage chunk scans for",
  "  `u` with the native `indexOf` (no chat-chunk key contains one). Aborting the signal of hundreds",
  "  of Deno fetches did not reliably close their connections, cancelling the body does: the relay",
  "  cancels the upstream body on every exit.",
  "- **Memory:** this app idles at ~76 MB right after start (Hono, zod, the openai SDK, Preact SSR)",
  "  where the bare hop process needs ~44 MB. Each open stream holds two connections (the bare hop's",
  "  per-stream figure above) plus the JS stream state; a minimal BYOB JS relay measured ~105 KB per",
  "  stream, deepstudio ~25 KB more (request planning, middleware, error bookkeeping). After heavy load V8 keeps its grown young generation: RSS stays at its high-water mark",
  "  (`--v8-flags=--max-semi-space-size=4` measured ~107 MB instead of ~150 MB after a c=16 run;",
  "  not applied, it is a process flag for the start task).",
  "- **Throughput** is client-bound (the client process is at ~100 % CPU in the flat-out runs);",
  "  through the gateway the client gets fewer, larger reads (Deno's writer batches queued chunks),",
  "  which is why the ratio can exceed 100 %.",
];

if (import.meta.main) await main();
