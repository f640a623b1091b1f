/**
 * Runs written before runs had owners and steps (schema 1): they have no lease, no unfinished-runs
 * entry and no step records, so they cannot be resumed at a step. A run such a version left
 * `running` or `queued` is ended `interrupted` (its text kept, its log closed with the events a
 * reader expects), and every record gets the fields newer code reads.
 */
import { kvList, kvSet, runEventKey, runKey, RUNS_PREFIX } from "../kv/keys.ts";
import { pendingPipeline } from "./pipeline.ts";
import type { RunEvent, RunRecord } from "./schema.ts";

/** Migration 2: legacy records completed with `pipeline`, `owner`, `resumes`; unfinished ones ended. */
export async function upgradeLegacyRuns(kv: Deno.Kv, now = Date.now()): Promise<void> {
  for await (const entry of kvList(kv, RUNS_PREFIX)) {
    const run = entry.value;
    if (run.pipeline && run.resumes !== undefined) continue;
    const updated: RunRecord = {
      ...run,
      pipeline: run.pipeline ?? pendingPipeline(run.mode),
      owner: run.owner ?? null,
      resumes: run.resumes ?? 0,
    };
    const op = kv.atomic().check(entry);
    if (run.status === "running" || run.status === "queued") {
      const message = run.status === "running"
        ? "deepstudio stopped while this run was in progress; the text produced so far is kept"
        : "deepstudio stopped before this run started";
      const progress = { phase: "interrupted", message, percent: run.progress?.percent ?? 0 };
      const events: RunEvent[] = [
        { seq: run.lastSeq + 1, type: "status", data: { status: "interrupted" }, at: now },
        { seq: run.lastSeq + 2, type: "progress", data: progress, at: now },
        { seq: run.lastSeq + 3, type: "done", data: { status: "interrupted" }, at: now },
      ];
      Object.assign(updated, {
        status: "interrupted",
        finishedAt: now,
        progress,
        lastSeq: run.lastSeq + 3,
      });
      kvSet(op, runEventKey(run.id, events[0].seq), events);
    }
    kvSet(op, runKey(run.id), updated);
    await op.commit(); // a failed check: another process upgraded it first
  }
}
