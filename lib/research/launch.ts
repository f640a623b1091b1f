/**
 * A live run in the queue: its queue-position notes while it waits, its execution when a slot
 * frees, and the ending of a run that never started (cancelled while waiting, or shut down).
 */
import { runActiveKey, runCancelKey } from "../kv/keys.ts";
import type { LiveRun } from "./live.ts";
import type { QueueJob } from "./queue.ts";
import { type PositionWatchers, queuedProgress } from "./queue_position.ts";
import type { RunRecord, RunStatus } from "./schema.ts";

/** Ends a run that never started; a shutdown keeps it in the unfinished index (resumed later). */
export async function endWaiting(
  run: LiveRun,
  status: "cancelled" | "interrupted",
  now: () => number,
): Promise<void> {
  const message = status === "cancelled"
    ? "Cancelled before it started"
    : "deepstudio stopped before this run started";
  const progress = { phase: status, message, percent: 0 };
  run.update({ progress });
  run.emit("progress", progress);
  await closeRun(run, status, { finishedAt: now() });
}

/**
 * The end of every run, started or not: its final status (with `patch`), its entry in the
 * unfinished index dropped (an interrupted run keeps it: the next start resumes it), the cancel
 * request cleared, `status` and `done` announced, and the last flush.
 */
export async function closeRun(
  run: LiveRun,
  status: RunStatus,
  patch: Partial<RunRecord>,
): Promise<void> {
  run.update({ ...patch, status });
  if (status !== "interrupted") run.del(runActiveKey(run.id));
  run.del(runCancelKey(run.id));
  run.emit("status", { status });
  run.emit("done", { status });
  await run.close();
}

/**
 * Queues `run` into a reserved place: `execute` runs when a slot frees (unless it was stopped
 * while waiting), `cleanup` once it is over. The first position is stored (where the run joined);
 * later shifts reach only `positions` (live followers), so a waiting run keeps O(1) events however
 * long the queue (`queue_position.ts`). Resolves when the queue has decided (started, or placed).
 */
export function queueJob(
  place: { enqueue(job: QueueJob): void },
  run: LiveRun,
  job: {
    now: () => number;
    positions: PositionWatchers;
    onLimit(limit: number): void;
    /** `waited`: the run sat in the queue before this slot freed. */
    execute(waited: boolean): Promise<void>;
    cleanup(): void;
  },
): Promise<void> {
  let lastPosition = 0;
  let decided!: () => void;
  const decision = new Promise<void>((r) => (decided = r));
  place.enqueue({
    id: run.id,
    position(position, limit) {
      decided();
      job.onLimit(limit);
      if (position === lastPosition) return;
      const data = queuedProgress(position, limit);
      if (!lastPosition) {
        run.update({ progress: data });
        run.emit("progress", data);
      } else for (const send of job.positions) send(data);
      lastPosition = position;
    },
    async run() {
      decided();
      try {
        if (run.reason) {
          await endWaiting(run, run.reason === "cancel" ? "cancelled" : "interrupted", job.now);
        } else await job.execute(lastPosition > 0);
      } finally {
        job.cleanup();
      }
    },
  });
  return decision;
}
