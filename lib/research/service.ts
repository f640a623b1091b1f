/**
 * The research service: owns the queue and the runs this process is executing, and answers every
 * question about runs (live ones from memory, finished ones from KV). Built once per app; its
 * start-up pass (runs a previous process left running become `interrupted`) is awaited through
 * `ready` by every operation, so app creation stays synchronous.
 */
import type { AppContext } from "../context.ts";
import { AppError, notFound } from "../http/errors.ts";
import type { ProviderService } from "../providers/service.ts";
import { follow } from "./events.ts";
import { exportMarkdown } from "./export.ts";
import {
  createLiveRun,
  DEFAULT_FLUSH,
  type FlushPolicy,
  type LiveRun,
  type WriteStats,
} from "./live.ts";
import { createRunQueue } from "./queue.ts";
import {
  type PositionWatchers,
  queuedProgress,
  queueFull,
  withLivePositions,
} from "./queue_position.ts";
import { type ResearchLlm, runResearch } from "./runner.ts";
import {
  deleteRunEntries,
  getRun,
  insertRun,
  listRuns,
  newRunId,
  newRunRecord,
  recoverInterrupted,
} from "./runs.ts";
import {
  type ProgressData,
  type ResearchRequest,
  type RunEvent,
  type RunFollowUp,
  type RunRecord,
  type RunStatus,
} from "./schema.ts";
import { resolveTarget } from "./target.ts";
import { capFollowUp } from "./follow_up.ts";
import { readText } from "./text.ts";

/** Tuning knobs (tests shorten them). */
export interface ResearchOptions {
  flush?: FlushPolicy;
  /** Longest a cancel or delete waits for the run to wind down before answering. */
  settleMs?: number;
}

/** A run with its text. */
export interface RunView {
  run: RunRecord;
  text: string;
}

/** What routes (and the benchmark) use. */
export interface ResearchService {
  /** Resolves once runs left over by a previous process are marked interrupted. */
  readonly ready: Promise<void>;
  start(req: ResearchRequest): Promise<RunRecord>;
  get(id: string): Promise<RunView | null>;
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
  const policy = opts.flush ?? DEFAULT_FLUSH;
  const settleMs = opts.settleMs ?? 10_000;
  const stats: WriteStats = { commits: 0, mutations: 0 };
  const live = new Map<string, LiveRun>();
  const ended = new Map<string, Promise<void>>();
  const queue = createRunQueue(
    async () => (await ctx.settings.get()).values["app.max_concurrent_researches"],
    ctx.log,
  );

  const llm: ResearchLlm = { stream: (req, signal) => providers.stream(req, signal) };
  const cleanups = new Map<string, () => void>();
  // Queue positions live in memory only (lib/research/queue_position.ts).
  const watchers = new Map<string, PositionWatchers>();
  let queueLimit = 1;

  const ready = recoverInterrupted(kv, ctx.now()).then(
    (ids) => {
      if (ids.length) ctx.log(`marked ${ids.length} unfinished research run(s) as interrupted`);
    },
    (e) => ctx.log(`could not check for interrupted research runs: ${(e as Error).message}`),
  );

  /** Ends a run that never started (cancelled in the queue, or shut down while waiting). */
  async function endWaiting(run: LiveRun, status: RunStatus) {
    const message = status === "cancelled"
      ? "Cancelled before it started"
      : "deepstudio stopped before this run started";
    const progress = { phase: status, message, percent: 0 };
    run.update({ status, finishedAt: ctx.now(), progress });
    run.emit("progress", progress);
    run.emit("status", { status });
    run.emit("done", { status });
    await run.close();
    cleanups.get(run.id)?.();
  }

  ctx.shutdown.addEventListener("abort", () => {
    for (const run of live.values()) {
      if (queue.remove(run.id)) endWaiting(run, "interrupted").catch(() => {});
      else if (!run.abort.signal.aborted) run.abort.abort("shutdown");
    }
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

  return {
    ready,
    get writes() {
      return stats;
    },
    get liveCount() {
      return live.size;
    },
    async start(req) {
      await ready;
      if (ctx.shutdown.aborted) {
        throw new AppError(503, "internal", "deepstudio is shutting down; try again after restart");
      }
      const earlier = req.followUp ? await followUpSource(req.followUp) : undefined;
      const maxQueued = (await ctx.settings.get()).values["app.max_queued_researches"];
      const place = queue.reserve(maxQueued);
      if (!place) throw queueFull(maxQueued);
      let settings, record;
      try {
        settings = await resolveTarget(providers, req);
        const createdAt = ctx.now();
        record = newRunRecord(newRunId(createdAt), {
          query: req.query,
          mode: req.mode,
          settings,
          createdAt,
        });
        if (earlier) record.followUp = capFollowUp(earlier, settings.contextWindow);
      } catch (e) {
        place.release();
        throw e;
      }
      const res = await insertRun(kv, record).catch((e) => {
        place.release();
        throw e;
      });
      const run = createLiveRun(kv, { record, versionstamp: res.versionstamp }, {
        policy,
        now: ctx.now,
        stats,
        log: ctx.log,
      });
      live.set(run.id, run);
      run.emit("status", { status: "queued" });
      let lastPosition = 0;
      let resolveEnd!: () => void;
      ended.set(run.id, new Promise<void>((r) => (resolveEnd = r)));
      let decided!: () => void;
      const decision = new Promise<void>((r) => (decided = r));
      const cleanup = () => {
        watchers.delete(run.id);
        live.delete(run.id);
        ended.delete(run.id);
        cleanups.delete(run.id);
        resolveEnd();
      };
      cleanups.set(run.id, cleanup);
      const positions: PositionWatchers = new Set<(p: ProgressData) => void>();
      watchers.set(run.id, positions);
      place.enqueue({
        id: run.id,
        position(position, limit) {
          decided();
          if (position === lastPosition) return;
          const data = queuedProgress(position, limit);
          // Stored once (where the run joined); later shifts reach only live watchers and reads,
          // so a waiting run keeps O(1) events however long the queue.
          if (!lastPosition) {
            run.update({ progress: data });
            run.emit("progress", data);
          } else for (const send of positions) send(data);
          lastPosition = position;
          queueLimit = limit;
        },
        async run() {
          decided();
          try {
            if (run.reason) {
              await endWaiting(run, run.reason === "cancel" ? "cancelled" : "interrupted");
            } else await runResearch(run, { llm, now: ctx.now });
          } finally {
            cleanup();
          }
        },
      });
      await decision;
      return view(run);
    },
    async get(id) {
      await ready;
      const run = live.get(id);
      if (run) return { run: view(run), text: run.text.text };
      const entry = await getRun(kv, id);
      if (!entry.value) return null;
      return { run: entry.value, text: await readText(kv, id, entry.value.textChunks) };
    },
    async list(o) {
      await ready;
      const page = await listRuns(kv, o);
      return { ...page, runs: page.runs.map((r) => (live.has(r.id) ? view(live.get(r.id)!) : r)) };
    },
    async cancel(id) {
      await ready;
      const run = live.get(id);
      if (!run) {
        const entry = await getRun(kv, id);
        if (!entry.value) throw notFound(`No research run ${id}`);
        throw new AppError(
          409,
          "conflict",
          `Run ${id} has already ended (${entry.value.status}); nothing to cancel`,
          { status: entry.value.status },
        );
      }
      if (queue.remove(id)) await endWaiting(run, "cancelled");
      else if (!run.abort.signal.aborted) run.abort.abort("cancel");
      await settle(id);
      return view(run);
    },
    async remove(id) {
      await ready;
      if (live.has(id)) {
        const run = live.get(id)!;
        if (queue.remove(id)) await endWaiting(run, "cancelled");
        else if (!run.abort.signal.aborted) run.abort.abort("cancel");
        await settle(id);
      }
      const entry = await getRun(kv, id);
      if (!entry.value) throw notFound(`No research run ${id}`);
      await deleteRunEntries(kv, entry.value);
    },
    async events(id, after, signal) {
      await ready;
      const run = live.get(id);
      if (!run && !(await getRun(kv, id)).value) return null;
      const events = follow(kv, id, { log: run?.log ?? null }, { after, signal });
      return withLivePositions(events, watchers.get(id), ctx.now);
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
