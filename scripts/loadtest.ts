/**
 * Load and soak test, run with `deno task loadtest`; not part of `deno task test`.
 *
 * Three processes on 127.0.0.1 only: deepstudio itself (`deno run main.ts --port 0` on a temp KV
 * file, so the RSS read from /proc is its own), a fast mock upstream (the fake LM Studio from
 * tests/fakes, in its own process: this script started with `--upstream`), and this script as the
 * clients. Workers keep `--concurrency` streams open on each path:
 * - research: `POST /api/research` → follow `GET /api/research/{id}/events` to `done` → check the
 *   text → `DELETE` the run (so a long soak measures steady state, not a growing history; keep
 *   them with `--keep-runs`);
 * - /v1: `POST /v1/chat/completions` with `stream: true` → read to `[DONE]` → check the text.
 * First `--load-seconds` (60) of load, then `--soak-seconds` (600) more of the same while RSS is
 * sampled. Reported: streams done, errors by cause, latency percentiles, RSS over the soak.
 * Targets: 0 errors and RSS growth < 10 % over the soak (the load phase is the warm-up), both as
 * the first vs the last tenth of the soak's samples and as a fitted trend; the exit code is 1
 * when a target is missed. Every loop is bounded by a deadline; it stops by itself.
 *
 *   deno task loadtest                                  # 60 s load + 10 min soak
 *   deno task loadtest --soak-seconds 90                # shorter soak
 *   deno task loadtest --load-seconds 10 --soak-seconds 20 --concurrency 32   # smoke run
 */
import { startFakeLmStudio } from "../tests/fakes/lmstudio.ts";
import { rssBytes, startChild } from "../tests/faults/child.ts";

interface Options {
  loadSeconds: number;
  soakSeconds: number;
  concurrency: number;
  researchSlots: number;
  tokens: number;
  tokenDelayMs: number;
  keepRuns: boolean;
  paths: ("research" | "v1")[];
  json: string | null;
}

const USAGE = `deno task loadtest [flags]
  --load-seconds N      load phase length (default 60)
  --soak-seconds N      soak length after the load (default 600)
  --concurrency N       open streams per path (default 256)
  --research-slots N    app.max_concurrent_researches, 1..64 (default 64; more runs queue)
  --tokens N            tokens per answer from the mock upstream (default 32)
  --token-delay-ms N    delay between upstream tokens (default 0: as fast as read)
  --paths LIST          research,v1 (default both)
  --keep-runs           keep finished research runs instead of deleting them
  --json FILE           also write the results as JSON`;

function parseArgs(args: string[]): Options {
  const o: Options = {
    loadSeconds: 60,
    soakSeconds: 600,
    concurrency: 256,
    researchSlots: 64,
    tokens: 32,
    tokenDelayMs: 0,
    keepRuns: false,
    paths: ["research", "v1"],
    json: null,
  };
  const num = (name: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${v}`);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case "--load-seconds":
        o.loadSeconds = num(flag, value(), 1, 3600);
        break;
      case "--soak-seconds":
        o.soakSeconds = num(flag, value(), 0, 24 * 3600);
        break;
      case "--concurrency":
        o.concurrency = num(flag, value(), 1, 4096);
        break;
      case "--research-slots":
        o.researchSlots = num(flag, value(), 1, 64);
        break;
      case "--tokens":
        o.tokens = num(flag, value(), 1, 10_000);
        break;
      case "--token-delay-ms":
        o.tokenDelayMs = num(flag, value(), 0, 10_000);
        break;
      case "--paths": {
        const list = value().split(",").map((s) => s.trim()).filter(Boolean);
        if (!list.length || list.some((p) => p !== "research" && p !== "v1")) {
          throw new Error(`--paths takes research and/or v1, got ${list.join(",")}`);
        }
        o.paths = list as Options["paths"];
        break;
      }
      case "--keep-runs":
        o.keepRuns = true;
        break;
      case "--json":
        o.json = value();
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return o;
}

/** The answer the mock streams: distinct words, so a lost or repeated token shows. */
function reply(tokens: number): string {
  return Array.from({ length: tokens }, (_, i) => `t${i}`).join(" ");
}

// ---------- upstream mode: the fake LM Studio in its own process ----------

async function upstreamMode(args: string[]) {
  const tokens = Number(args[args.indexOf("--tokens") + 1] ?? 32);
  const delay = Number(args[args.indexOf("--token-delay-ms") + 1] ?? 0);
  const lm = await startFakeLmStudio({ reply: reply(tokens), tokenDelayMs: delay });
  // The fake records every request for tests; here nobody reads the log, so keep it empty.
  setInterval(() => (lm.requests.length = 0), 1000);
  console.log(JSON.stringify({ url: lm.url }));
  // Runs until the parent kills it.
}

// ---------- measurements ----------

class Stats {
  count = 0;
  #samples: number[] = [];
  #seen = 0;
  /** Reservoir of at most 200k samples, so memory stays bounded on long soaks. */
  add(ms: number) {
    this.count++;
    this.#seen++;
    if (this.#samples.length < 200_000) this.#samples.push(ms);
    else {
      const j = Math.floor(Math.random() * this.#seen);
      if (j < this.#samples.length) this.#samples[j] = ms;
    }
  }
  pct(p: number): number | null {
    if (!this.#samples.length) return null;
    const s = [...this.#samples].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  }
  summary() {
    const r = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
    return {
      n: this.count,
      p50: r(this.pct(50)),
      p90: r(this.pct(90)),
      p99: r(this.pct(99)),
      max: r(this.pct(100)),
    };
  }
}

interface PathStats {
  done: number;
  errors: Map<string, number>;
  firstErrors: string[];
  /** Research: POST → 202. /v1: POST → response headers. */
  accept: Stats;
  /** Request start → first streamed text. */
  firstText: Stats;
  /** Request start → end of the stream (done / [DONE]). */
  total: Stats;
}

function pathStats(): PathStats {
  return {
    done: 0,
    errors: new Map(),
    firstErrors: [],
    accept: new Stats(),
    firstText: new Stats(),
    total: new Stats(),
  };
}

function recordError(s: PathStats, cause: string, detail: string) {
  s.errors.set(cause, (s.errors.get(cause) ?? 0) + 1);
  if (s.firstErrors.length < 10) s.firstErrors.push(`${cause}: ${detail.slice(0, 300)}`);
}

/** Splits SSE text into frames, keeping an incomplete tail. */
function frames(buf: string): { frames: string[]; rest: string } {
  const parts = buf.split("\n\n");
  const rest = parts.pop() ?? "";
  return { frames: parts, rest };
}

async function researchOnce(
  base: string,
  expected: string,
  keep: boolean,
  s: PathStats,
  i: number,
) {
  const t0 = performance.now();
  const signal = AbortSignal.timeout(120_000);
  const res = await fetch(`${base}/api/research`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `Load test question ${i}`, mode: "quick" }),
    signal,
  });
  const body = await res.json();
  if (res.status !== 202) return recordError(s, `POST ${res.status}`, JSON.stringify(body));
  s.accept.add(performance.now() - t0);
  const ev = await fetch(`${base}/api/research/${body.id}/events`, { signal });
  if (ev.status !== 200 || !ev.body) {
    await ev.body?.cancel();
    return recordError(s, `events ${ev.status}`, body.id);
  }
  const reader = ev.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let text = "";
  let status: string | null = null;
  let firstAt: number | null = null;
  while (status === null) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    const f = frames(buf);
    buf = f.rest;
    for (const frame of f.frames) {
      if (frame.startsWith(":")) continue;
      const type = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (type === "delta" && data) {
        firstAt ??= performance.now();
        text += JSON.parse(data).text;
      } else if (type === "done" && data) status = JSON.parse(data).status;
    }
  }
  await reader.cancel().catch(() => {});
  const end = performance.now();
  if (status === null) return recordError(s, "events ended without done", body.id);
  if (status !== "completed") return recordError(s, `run ${status}`, body.id);
  if (text !== expected) {
    return recordError(s, "text mismatch", `${body.id}: ${text.slice(0, 100)}`);
  }
  if (firstAt !== null) s.firstText.add(firstAt - t0);
  s.total.add(end - t0);
  s.done++;
  if (!keep) {
    const del = await fetch(`${base}/api/research/${body.id}`, { method: "DELETE", signal });
    await del.body?.cancel();
    if (del.status !== 200) recordError(s, `DELETE ${del.status}`, body.id);
  }
}

async function v1Once(base: string, expected: string, s: PathStats, i: number) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: `Load test ${i}` }], stream: true }),
    signal: AbortSignal.timeout(120_000),
  });
  if (res.status !== 200 || !res.body) {
    return recordError(s, `HTTP ${res.status}`, await res.text().catch(() => ""));
  }
  s.accept.add(performance.now() - t0);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let text = "";
  let doneSeen = false;
  let firstAt: number | null = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    const f = frames(buf);
    buf = f.rest;
    for (const frame of f.frames) {
      const data = frame.startsWith("data: ") ? frame.slice(6) : null;
      if (data === null) continue;
      if (data === "[DONE]") {
        doneSeen = true;
        continue;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) recordError(s, "error event", data);
      const piece = chunk.choices?.[0]?.delta?.content;
      if (typeof piece === "string" && piece) {
        firstAt ??= performance.now();
        text += piece;
      }
    }
  }
  const end = performance.now();
  if (!doneSeen) return recordError(s, "no [DONE]", text.slice(0, 100));
  if (text !== expected) return recordError(s, "text mismatch", text.slice(0, 100));
  if (firstAt !== null) s.firstText.add(firstAt - t0);
  s.total.add(end - t0);
  s.done++;
}

/** One worker: requests back to back on `path` until the deadline. */
async function worker(
  path: "research" | "v1",
  base: string,
  expected: string,
  opts: Options,
  stats: () => PathStats,
  deadline: number,
  id: number,
) {
  let i = 0;
  while (performance.now() < deadline) {
    const s = stats();
    try {
      if (path === "research") await researchOnce(base, expected, opts.keepRuns, s, id * 1e6 + i++);
      else await v1Once(base, expected, s, id * 1e6 + i++);
    } catch (e) {
      recordError(s, `exception ${(e as Error).name}`, (e as Error).message);
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Least-squares line through RSS samples: growth over the span, relative to its start. */
function fitTrend(
  samples: { t: number; bytes: number }[],
): { growth: number; mbPerMinute: number } | null {
  if (samples.length < 3) return null;
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mbytes = samples.reduce((a, s) => a + s.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.bytes - mbytes);
    den += (s.t - mt) ** 2;
  }
  if (den === 0) return null;
  const slope = num / den; // bytes per second
  const t0 = samples[0].t;
  const t1 = samples[n - 1].t;
  const start = mbytes + slope * (t0 - mt);
  return { growth: (slope * (t1 - t0)) / start, mbPerMinute: (slope * 60) / 1048576 };
}

function mb(bytes: number | null): string {
  return bytes === null ? "n/a" : `${(bytes / 1048576).toFixed(1)} MB`;
}

// ---------- main ----------

async function main() {
  if (Deno.args.includes("--upstream")) return await upstreamMode(Deno.args);
  const opts = parseArgs(Deno.args);
  const expected = reply(opts.tokens);
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-loadtest-" });
  const kvPath = `${dir}/deepstudio.kv`;

  const upstreamProc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL(import.meta.url).pathname,
      "--upstream",
      "--tokens",
      String(opts.tokens),
      "--token-delay-ms",
      String(opts.tokenDelayMs),
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const stdout = upstreamProc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { done, value } = await stdout.read();
    if (done) throw new Error("the mock upstream exited before printing its URL");
    line += value;
  }
  const upstreamUrl = JSON.parse(line.split("\n")[0]).url as string;
  stdout.releaseLock();
  upstreamProc.stdout.cancel().catch(() => {});

  const child = await startChild(kvPath, {
    LDR_LLM_LMSTUDIO_URL: upstreamUrl,
    LDR_APP_MAX_CONCURRENT_RESEARCHES: String(opts.researchSlots),
  });
  const base = child.url;
  const results: Record<string, unknown> = { options: opts };
  let failed = false;
  try {
    // Warm both paths once (model list, JIT) so the first second is not all cold start.
    const warm = pathStats();
    await researchOnce(base, expected, false, warm, -1);
    await v1Once(base, expected, warm, -1);
    if (warm.errors.size) throw new Error(`warm-up failed: ${warm.firstErrors.join("; ")}`);
    const idleRss = rssBytes(child.pid);

    const load = { research: pathStats(), v1: pathStats() };
    const soak = { research: pathStats(), v1: pathStats() };
    const start = performance.now();
    const loadEnd = start + opts.loadSeconds * 1000;
    const soakEnd = loadEnd + opts.soakSeconds * 1000;
    let phase: "load" | "soak" = "load";
    const current = (p: "research" | "v1") => () => (phase === "load" ? load[p] : soak[p]);

    const rss: { t: number; phase: string; bytes: number }[] = [];
    let loadEndRss: number | null = null;
    const sampler = setInterval(() => {
      const now = performance.now();
      if (phase === "load" && now >= loadEnd) {
        phase = "soak";
        loadEndRss = rssBytes(child.pid);
      }
      const b = rssBytes(child.pid);
      if (b !== null) rss.push({ t: (now - start) / 1000, phase, bytes: b });
    }, 1000);
    let lastReport = start;
    const reporter = setInterval(() => {
      const now = performance.now();
      if (now - lastReport < 10_000) return;
      lastReport = now;
      const sum = (k: "research" | "v1") => load[k].done + soak[k].done;
      const errs = [load.research, load.v1, soak.research, soak.v1].reduce(
        (n, s) => n + [...s.errors.values()].reduce((a, b) => a + b, 0),
        0,
      );
      console.log(
        `[${Math.round((now - start) / 1000)} s] ${phase}: research ${sum("research")}, /v1 ${
          sum("v1")
        } streams done, ${errs} errors, RSS ${mb(rssBytes(child.pid))}`,
      );
    }, 1000);

    console.log(
      `deepstudio ${base} (pid ${child.pid}), upstream ${upstreamUrl}; ${opts.concurrency} streams per path on ${
        opts.paths.join(" + ")
      }, ${opts.loadSeconds} s load then ${opts.soakSeconds} s soak; idle RSS ${mb(idleRss)}`,
    );
    const workers: Promise<void>[] = [];
    for (const p of opts.paths) {
      for (let w = 0; w < opts.concurrency; w++) {
        workers.push(worker(p, base, expected, opts, current(p), soakEnd, w));
      }
    }
    await Promise.all(workers);
    clearInterval(sampler);
    clearInterval(reporter);
    phase = "soak";
    loadEndRss ??= rssBytes(child.pid);
    const endRss = rssBytes(child.pid);
    // Let deepstudio settle (flushes, timers), then read the idle RSS again.
    await new Promise((r) => setTimeout(r, 3000));
    const afterRss = rssBytes(child.pid);

    const soakSamples = rss.filter((r) => r.phase === "soak").map((r) => r.bytes);
    const k = Math.max(1, Math.floor(soakSamples.length / 10));
    const soakStart = soakSamples.length ? median(soakSamples.slice(0, k)) : null;
    const soakFinal = soakSamples.length ? median(soakSamples.slice(-k)) : null;
    const growth = soakStart && soakFinal ? (soakFinal - soakStart) / soakStart : null;
    // The trend, less sensitive to GC sawtooth than two windows: a least-squares line through
    // every soak sample, as growth over the soak relative to the line's start.
    const trend = fitTrend(rss.filter((r) => r.phase === "soak"));
    const elapsed = (phaseStats: typeof load, seconds: number) =>
      Object.fromEntries(
        opts.paths.map((p) => [p, {
          streams: phaseStats[p].done,
          perSecond: Math.round((phaseStats[p].done / Math.max(1, seconds)) * 10) / 10,
          errors: Object.fromEntries(phaseStats[p].errors),
          firstErrors: phaseStats[p].firstErrors,
          acceptMs: phaseStats[p].accept.summary(),
          firstTextMs: phaseStats[p].firstText.summary(),
          totalMs: phaseStats[p].total.summary(),
        }]),
      );
    const totalErrors = [load.research, load.v1, soak.research, soak.v1].reduce(
      (n, s) => n + [...s.errors.values()].reduce((a, b) => a + b, 0),
      0,
    );
    const maxRss = rss.length ? Math.max(...rss.map((r) => r.bytes)) : null;
    let kvBytes: number | null = null;
    try {
      kvBytes = (await Deno.stat(kvPath)).size;
    } catch { /* gone */ }
    Object.assign(results, {
      load: elapsed(load, opts.loadSeconds),
      soak: elapsed(soak, opts.soakSeconds),
      errors: totalErrors,
      rss: {
        idleBeforeBytes: idleRss,
        endOfLoadBytes: loadEndRss,
        soakStartBytes: soakStart,
        soakEndBytes: soakFinal,
        maxBytes: maxRss,
        endBytes: endRss,
        idleAfterBytes: afterRss,
        soakGrowth: growth,
        soakTrendGrowth: trend?.growth ?? null,
        soakTrendMbPerMinute: trend?.mbPerMinute ?? null,
        samples: rss.map((r) => ({ t: Math.round(r.t), phase: r.phase, mb: r.bytes / 1048576 })),
      },
      kvFileBytes: kvBytes,
    });

    console.log("\n== results ==");
    for (const [name, ph] of [["load", results.load], ["soak", results.soak]] as const) {
      for (
        const [p, r] of Object.entries(ph as Record<string, ReturnType<typeof elapsed>[string]>)
      ) {
        console.log(
          `${name} ${p.padEnd(8)} streams ${
            String(r.streams).padStart(7)
          } (${r.perSecond}/s)  errors ${
            JSON.stringify(r.errors)
          }  accept p99 ${r.acceptMs.p99} ms  first text p50/p99 ${r.firstTextMs.p50}/${r.firstTextMs.p99} ms  total p50/p99 ${r.totalMs.p50}/${r.totalMs.p99} ms (max ${r.totalMs.max})`,
        );
        for (const e of r.firstErrors) console.log(`    ${e}`);
      }
    }
    console.log(
      `RSS: idle ${mb(idleRss)} → end of load ${mb(loadEndRss)} → soak start ${
        mb(soakStart)
      } → soak end ${mb(soakFinal)} (max ${mb(maxRss)}); idle after ${mb(afterRss)}`,
    );
    console.log(
      `soak RSS growth ${
        growth === null ? "n/a (no soak)" : `${(growth * 100).toFixed(1)} %`
      } (first vs last tenth of the soak), trend ${
        trend === null
          ? "n/a"
          : `${(trend.growth * 100).toFixed(1)} % (${trend.mbPerMinute.toFixed(2)} MB/min)`
      } (target < 10 % for both); errors ${totalErrors} (target 0); KV file ${mb(kvBytes)}`,
    );
    failed = totalErrors > 0 || (growth !== null && growth >= 0.1) ||
      (trend !== null && trend.growth >= 0.1);
    console.log(failed ? "TARGETS MISSED" : "targets met");
  } finally {
    await child.kill("SIGTERM");
    try {
      upstreamProc.kill("SIGTERM");
    } catch { /* gone */ }
    await upstreamProc.status;
    if (opts.json) await Deno.writeTextFile(opts.json, JSON.stringify(results, null, 2) + "\n");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if (failed) Deno.exit(1);
}

if (import.meta.main) await main();
