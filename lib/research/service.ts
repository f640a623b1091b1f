/**
 * The research service: owns the queue and the runs this process executes, and answers every
 * question about runs (live ones from memory, others from KV, following and cancelling runs that
 * another process on the same KV file owns). It holds a lease while it runs anything
 * (`lease.ts`), and its start-up pass adopts and resumes runs whose owner's lease has expired
 * (`recovery.ts`); every operation awaits that pass through `ready`.
 */
import type { AppContext } from "../context.ts";
import { AppError, notFound } from "../http/errors.ts";
import { kvGet, runSettingsKey } from "../kv/keys.ts";
import { resolveProvider } from "../providers/resolve.ts";
import type { ProviderService } from "../providers/service.ts";
import type { UpstreamError } from "../providers/types.ts";
import type { Settings } from "../settings/schema.ts";
import { follow } from "./events.ts";
import { exportMarkdown } from "./export.ts";
import { freezeSettings, thawSettings } from "./frozen.ts";
import { DEFAULT_LEASE_MS, holdLease, type Lease } from "./lease.ts";
import {
  createLiveRun,
  DEFAULT_FLUSH,
  type FlushPolicy,
  type LiveRun,
  type WriteStats,
} from "./live.ts";
import { createRunQueue, type QueueJob } from "./queue.ts";
import {
  type PositionWatchers,
  queuedProgress,
  queueFull,
  withLivePositions,
} from "./queue_position.ts";
import { capFollowUp } from "./follow_up.ts";
import { adopt, sweep } from "./recovery.ts";
import {
  cancelRequested,
  DEFAULT_POLL_MS,
  followRemote,
  requestCancel,
  waitTerminal,
} from "./remote.ts";
import { modelAdminFor } from "../providers/model_admin.ts";
import { adviseRunError } from "./reload.ts";
import { planResume, RESUMABLE, type ResumeRequest } from "./resume.ts";
import { type ResearchLlm, runResearch } from "./runner.ts";
import { deleteRunEntries, getRun, insertRun, listRuns, newRunId, newRunRecord } from "./runs.ts";
import {
  isTerminal,
  type ResearchRequest,
  type RunEvent,
  type RunFollowUp,
  type RunRecord,
} from "./schema.ts";
import { resolveTarget } from "./target.ts";
import { readText } from "./text.ts";
import { endWaiting, queueJob } from "./launch.ts";
import { defaultSourcesDeps, type SourcesDeps } from "../sources/deps.ts";
import { resolveSources } from "../sources/request.ts";
import { runLibrarySearch } from "../search/engines.ts";

/** Tuning knobs (tests shorten them). */
export interface ResearchOptions {
  flush?: FlushPolicy;
  /** Longest a cancel or delete waits for the run to wind down before answering. */
  settleMs?: number;
  /** The sourced steps' dependencies (default: the app's fetch, no Library, keyword ranking). */
  sources?: SourcesDeps;
  /** This process's lease on its runs (default `config.runLeaseMs`, else 15 s). */
  leaseMs?: number;
  /** How often cancel requests and other processes' runs are re-read. */
  pollMs?: number;
}

/** A run with its text. */
export interface RunView {
  run: RunRecord;
  text: string;
}

/** What routes (and the benchmark) use. */
export interface ResearchService {
  /** Resolves once runs left over by a dead process are adopted. */
  readonly ready: Promise<void>;
  /** This process's owner id (run records name it). */
  readonly owner: string;
  start(req: ResearchRequest): Promise<RunRecord>;
  /** Continues a failed, interrupted or cancelled run at the step it stopped in. */
  resume(id: string, req: ResumeRequest): Promise<RunRecord>;
  get(id: string): Promise<RunView | null>;
  /**
   * Waits until what a run live in this process has staged (sources, step outputs) is in KV:
   * `get` shows the live record at once, so a reader of KV-only data (sources, export) calls
   * this first to see what `get` already says.
   */
  persisted(id: string): Promise<void>;
  list(opts: { limit: number; cursor?: string }): Promise<{
    runs: RunRecord[];
    cursor: string | null;
  }>;
  cancel(id: string): Promise<RunRecord>;
  remove(id: string): Promise<void>;
  /** Missed and then live events after `after`; null for an unknown run. */
  events(id: string, after: number, signal: AbortSignal): Promise<AsyncIterable<RunEvent> | null>;
  exportMarkdown(id: string): Promise<{ run: RunRecord; markdown: string } | null>;
  /** Resolves when no run is running or waiting. */
  idle(): Promise<void>;
  /** KV commits and mutations made by runs so far. */
  readonly writes: Readonly<WriteStats>;
  readonly liveCount: number;
}

/** The service over the app context and the provider module. */
export function createResearchService(
  ctx: AppContext,
  providers: ProviderService,
  opts: ResearchOptions = {},
): ResearchService {
  const kv = ctx.kv;
  const sourcesDeps = opts.sources ?? {
    ...defaultSourcesDeps(
      ctx.fetch,
      // No `float32` asked, so these are the answer's numbers as they were (adapter.ts).
      async (provider, model, input, signal) =>
        (await providers.embed(provider, { model, input }, signal)).vectors.map((v) =>
          Array.isArray(v) ? v : Array.from(v)
        ),
    ),
    searchLibrary: runLibrarySearch(ctx),
  };
  const policy = opts.flush ?? DEFAULT_FLUSH;
  const settleMs = opts.settleMs ?? 10_000;
  const leaseMs = opts.leaseMs ?? ctx.config.runLeaseMs ?? DEFAULT_LEASE_MS;
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const owner = crypto.randomUUID();
  const stats: WriteStats = { commits: 0, mutations: 0 };
  const live = new Map<string, LiveRun>();
  const ended = new Map<string, Promise<void>>();
  /** Per live run: forgets it (a run taken out of the queue never reaches the job's own). */
  const cleanups = new Map<string, () => void>();
  const queue = createRunQueue(
    async () => (await ctx.settings.get()).values["app.max_concurrent_researches"],
    ctx.log,
  );
  const llm: ResearchLlm = {
    stream: (settings, req, signal) => providers.stream(req, signal, settings),
  };
  let lease: Lease | null = null;
  let leaseStopped: Promise<void> = Promise.resolve();
  let poller: ReturnType<typeof setInterval> | null = null;
  let resweep: ReturnType<typeof setTimeout> | null = null;
  // Queue positions live in memory only (lib/research/queue_position.ts).
  const watchers = new Map<string, PositionWatchers>();
  let queueLimit = 1;

  /** Holds the lease (written before any record names this owner) while runs are live. */
  async function retain(): Promise<void> {
    if (!lease) {
      await leaseStopped;
      lease = holdLease(kv, owner, { leaseMs, now: ctx.now, log: ctx.log });
      poller = setInterval(pollCancels, pollMs);
    }
    await lease.ready;
  }

  function release() {
    if (live.size || !lease) return;
    leaseStopped = lease.stop();
    lease = null;
    if (poller !== null) clearInterval(poller);
    poller = null;
  }

  async function pollCancels() {
    sweepSoon();
    try {
      for (const id of await cancelRequested(kv, [...live.keys()])) {
        await stopLocal(live.get(id), "cancel");
      }
    } catch { /* KV closing: the next poll (or shutdown) settles it */ }
  }

  /** Stops a run of this process: a waiting one ends at once, a running one is aborted. */
  async function stopLocal(run: LiveRun | undefined, how: "cancel" | "shutdown"): Promise<void> {
    if (!run) return;
    if (queue.remove(run.id)) {
      await endWaiting(run, how === "cancel" ? "cancelled" : "interrupted", ctx.now);
      cleanups.get(run.id)?.();
    } else if (!run.abort.signal.aborted) run.abort.abort(how);
  }

  /**
   * Settings saved while a run waited in the queue apply to it (it has not started): the run is
   * resolved again under them when its slot frees, its record and frozen copy updated. A server
   * that cannot be reached then fails the run with that error; other refusals keep what it had.
   */
  async function refreeze(
    run: LiveRun,
    req: ResearchRequest,
    frozen: Settings,
  ): Promise<{ frozen: Settings } | { error: UpstreamError } | null> {
    const snapshot = (await ctx.settings.get()).values;
    if (JSON.stringify(snapshot) === JSON.stringify(frozen)) return null;
    try {
      const settings = await resolveTarget(providers, req, snapshot);
      run.update({ settings });
      run.put(runSettingsKey(run.id), freezeSettings(snapshot));
      return { frozen: Object.freeze({ ...snapshot }) };
    } catch (e) {
      const upstream = e instanceof AppError ? e.extra.upstream as UpstreamError : undefined;
      return upstream ? { error: upstream } : null;
    }
  }

  /** Queues `run` with its frozen settings; resolves once it is queued or started. */
  function launch(
    run: LiveRun,
    frozen: Settings,
    place: { enqueue(job: QueueJob): void } = queue,
    fresh?: ResearchRequest,
  ): Promise<void> {
    live.set(run.id, run);
    let resolveEnd!: () => void;
    ended.set(run.id, new Promise<void>((r) => (resolveEnd = r)));
    const provider = resolveProvider(frozen, run.record.settings.provider);
    const positions: PositionWatchers = new Set();
    watchers.set(run.id, positions);
    cleanups.set(run.id, () => {
      watchers.delete(run.id);
      cleanups.delete(run.id);
      live.delete(run.id);
      ended.delete(run.id);
      resolveEnd();
      release();
    });
    return queueJob(place, run, {
      now: ctx.now,
      positions,
      onLimit: (limit) => (queueLimit = limit),
      async execute(waited) {
        let settings = frozen;
        let error: UpstreamError | undefined;
        const changed = waited && fresh ? await refreeze(run, fresh, frozen) : null;
        if (changed && "frozen" in changed) settings = changed.frozen;
        if (changed && "error" in changed) error = changed.error;
        await runResearch(run, {
          kv,
          llm,
          now: ctx.now,
          settings,
          provider: settings === frozen ? provider : resolveProvider(settings, fresh?.provider),
          inContainer: ctx.config.inContainer,
          advise: (e) => adviseRunError(providers, e, run.record.settings),
          sources: sourcesDeps,
        }, error);
      },
      cleanup: () => cleanups.get(run.id)?.(),
    });
  }

  function liveRun(record: RunRecord, versionstamp: string, text = ""): LiveRun {
    return createLiveRun(kv, { record, versionstamp, text }, {
      policy,
      now: ctx.now,
      stats,
      log: ctx.log,
    });
  }

  /** Adopts and queues a stored run (after a restart, or on request) at its step. */
  async function continueRun(
    entry: { record: RunRecord; versionstamp: string },
    patch: Partial<RunRecord>,
    why: string,
  ): Promise<LiveRun | null> {
    await retain();
    const taken = await adopt(kv, entry, owner, patch);
    if (!taken) {
      release();
      return null;
    }
    const r = taken.record;
    const stored = (await kvGet(kv, runSettingsKey(r.id))).value;
    const current = (await ctx.settings.get()).values;
    const frozen = stored ? thawSettings(stored, current) : current;
    const run = liveRun(r, taken.versionstamp, await readText(kv, r.id, r.textChunks));
    const next = r.pipeline.find((s) => s.state !== "done" && s.state !== "skipped");
    run.emit("status", { status: "queued", resumed: true });
    const data = {
      phase: "queued",
      message: `${why}; continuing${next ? ` at “${next.label}”` : ""}`,
      percent: r.progress?.percent ?? 0,
    };
    run.update({ progress: data });
    run.emit("progress", data);
    await launch(run, frozen);
    return run;
  }

  async function recover(): Promise<void> {
    lastSweep = ctx.now();
    const found = await sweep(kv, owner, ctx.now());
    for (const orphan of found.orphans) {
      await continueRun(orphan, {}, "deepstudio restarted while this run was unfinished");
    }
    if (found.orphans.length) ctx.log(`resumed ${found.orphans.length} unfinished research run(s)`);
    if (found.nextExpiry !== null && resweep === null && !ctx.shutdown.aborted) {
      // Another process's runs: look again once its lease would have expired.
      resweep = setTimeout(() => {
        resweep = null;
        sweepSoon(true);
      }, Math.max(0, found.nextExpiry - ctx.now()) + 50);
    }
  }

  let lastSweep = 0;
  let sweeping: Promise<void> | null = null;
  /**
   * Looks for runs a dead process left, at most twice per lease: on start-up, when a lease seen
   * would expire, and whenever runs are used or run here (no timer runs while nothing happens).
   */
  function sweepSoon(force = false) {
    if (sweeping || ctx.shutdown.aborted) return;
    if (!force && ctx.now() - lastSweep < leaseMs / 2) return;
    sweeping = recover().catch((e) =>
      ctx.log(`could not check for unfinished research runs: ${(e as Error).message}`)
    ).finally(() => (sweeping = null));
  }

  sweepSoon(true);
  const ready = sweeping ?? Promise.resolve();

  ctx.shutdown.addEventListener("abort", () => {
    if (resweep !== null) clearTimeout(resweep);
    for (const run of live.values()) stopLocal(run, "shutdown").catch(() => {});
  }, { once: true });

  async function settle(id: string) {
    const done = ended.get(id);
    if (!done) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, settleMs)))]);
    clearTimeout(timer);
  }

  function view(run: LiveRun): RunRecord {
    const position = queue.positionOf(run.id);
    return structuredClone({
      ...run.record,
      ...(position ? { progress: queuedProgress(position, queueLimit) } : {}),
      lastSeq: run.log.lastSeq,
      textLength: run.text.text.length,
    });
  }

  /** A stored run that is not live here, or a 404. */
  async function stored(id: string): Promise<Deno.KvEntry<RunRecord>> {
    const entry = await getRun(kv, id);
    if (!entry.value) throw notFound(`No research run ${id}`);
    return entry as Deno.KvEntry<RunRecord>;
  }

  /** The earlier run a follow-up names: it must exist and have ended. */
  async function followUpSource(id: string): Promise<RunFollowUp> {
    const run = live.get(id);
    if (run) {
      throw new AppError(
        409,
        "conflict",
        `Run ${id} is still ${run.record.status}; ask a follow-up once it has finished`,
      );
    }
    const entry = await getRun(kv, id);
    if (!entry.value) {
      throw new AppError(400, "validation", `No research run ${id} to follow up on`, {
        issues: [{ key: "followUp", message: `No research run ${id} to follow up on` }],
      });
    }
    const text = await readText(kv, id, entry.value.textChunks);
    return { id, query: entry.value.query, report: text };
  }

  function shuttingDown() {
    if (ctx.shutdown.aborted) {
      throw new AppError(503, "internal", "deepstudio is shutting down; try again after restart");
    }
  }

  return {
    ready,
    owner,
    get writes() {
      return stats;
    },
    get liveCount() {
      return live.size;
    },
    async start(req) {
      await ready;
      shuttingDown();
      const earlier = req.followUp ? await followUpSource(req.followUp) : undefined;
      const snapshot = (await ctx.settings.get()).values;
      const maxQueued = snapshot["app.max_queued_researches"];
      const place = queue.reserve(maxQueued);
      if (!place) throw queueFull(maxQueued);
      let record: RunRecord, res: Deno.KvCommitResult;
      try {
        const settings = await resolveTarget(providers, req, snapshot);
        await retain();
        const createdAt = ctx.now();
        record = newRunRecord(newRunId(createdAt), {
          query: req.query,
          mode: req.mode,
          settings,
          createdAt,
          owner,
          sources: resolveSources(req.sources, snapshot),
        });
        if (earlier) record.followUp = capFollowUp(earlier, settings.contextWindow);
        res = await insertRun(kv, record, freezeSettings(snapshot));
      } catch (e) {
        place.release();
        release();
        throw e;
      }
      const run = liveRun(record, res.versionstamp);
      run.emit("status", { status: "queued" });
      await launch(run, Object.freeze({ ...snapshot }), place, req);
      return view(run);
    },
    async resume(id, req) {
      await ready;
      shuttingDown();
      // A run shown ended may still be writing its last flush: wait for that, then resume it.
      const ending = live.get(id);
      if (ending && isTerminal(ending.record.status)) await settle(id);
      if (live.has(id)) {
        throw new AppError(409, "conflict", `Run ${id} is still ${live.get(id)!.record.status}`);
      }
      const entry = await stored(id);
      const r = entry.value;
      if (!RESUMABLE.includes(r.status)) {
        throw new AppError(
          409,
          "conflict",
          `Run ${id} is ${r.status}; only ${RESUMABLE.join(", ")} runs can be resumed`,
          { status: r.status },
        );
      }
      const plan = await planResume(r, req, {
        providers,
        admin: modelAdminFor(ctx),
        signal: ctx.shutdown,
      });
      const patch: Partial<RunRecord> = { error: null };
      if (plan.settings) patch.settings = { ...r.settings, ...plan.settings };
      const run = await continueRun(
        { record: r, versionstamp: entry.versionstamp },
        patch,
        `Resumed after it was ${r.status}`,
      );
      if (!run) throw new AppError(409, "conflict", `Run ${id} changed meanwhile; reload it`);
      return view(run);
    },
    async get(id) {
      await ready;
      sweepSoon();
      const run = live.get(id);
      if (run) return { run: view(run), text: run.text.text };
      const entry = await getRun(kv, id);
      if (!entry.value) return null;
      return { run: entry.value, text: await readText(kv, id, entry.value.textChunks) };
    },
    async persisted(id) {
      await live.get(id)?.flush();
    },
    async list(o) {
      await ready;
      sweepSoon();
      const page = await listRuns(kv, o);
      return { ...page, runs: page.runs.map((r) => (live.has(r.id) ? view(live.get(r.id)!) : r)) };
    },
    async cancel(id) {
      await ready;
      const run = live.get(id);
      if (run) {
        await stopLocal(run, "cancel");
        await settle(id);
        return view(run);
      }
      const r = (await stored(id)).value;
      if (isTerminal(r.status)) {
        throw new AppError(
          409,
          "conflict",
          `Run ${id} has already ended (${r.status}); nothing to cancel`,
          { status: r.status },
        );
      }
      // Another process runs it: ask it to stop, and answer once it has.
      await requestCancel(kv, id, ctx.now());
      return (await waitTerminal(kv, id, settleMs, pollMs)) ?? r;
    },
    async remove(id) {
      await ready;
      if (live.has(id)) {
        await stopLocal(live.get(id), "cancel");
        await settle(id);
      } else {
        const r = (await stored(id)).value;
        if (!isTerminal(r.status)) {
          await requestCancel(kv, id, ctx.now());
          await waitTerminal(kv, id, settleMs, pollMs);
        }
      }
      await deleteRunEntries(kv, (await stored(id)).value);
    },
    async events(id, after, signal) {
      await ready;
      sweepSoon();
      const run = live.get(id);
      if (run) {
        const events = follow(kv, id, { log: run.log }, { after, signal });
        return withLivePositions(events, watchers.get(id), ctx.now);
      }
      const r = (await getRun(kv, id)).value;
      if (!r) return null;
      if (!isTerminal(r.status)) return followRemote(kv, id, { after, signal, pollMs });
      return follow(kv, id, { log: null }, { after, signal });
    },
    async exportMarkdown(id) {
      const v = await this.get(id);
      if (!v) return null;
      return { run: v.run, markdown: exportMarkdown(v.run, v.text) };
    },
    async idle() {
      await ready;
      await queue.idle();
      await Promise.all([...ended.values()]);
    },
  };
}

const SERVICES = new WeakMap<object, ResearchService>();

/**
 * The one research service of an app context. Routes and pages that need live run state share it,
 * so there is one queue, one set of live runs and one start-up recovery pass per app.
 */
export function researchServiceFor(ctx: AppContext, providers: ProviderService): ResearchService {
  let service = SERVICES.get(ctx);
  if (!service) {
    service = createResearchService(ctx, providers);
    SERVICES.set(ctx, service);
  }
  return service;
}
