/**
 * Taking over runs nobody runs any more. The unfinished-runs index (`runActiveKey`) lists runs
 * that should be running: queued or running ones, and ones a clean shutdown interrupted. A run
 * whose owner's lease has expired (its process crashed or stopped) is adopted by one process
 * (an atomic write checked against the record, so two processes starting together cannot both
 * take it) and resumed at the step it was in. Runs whose owner still lives are left alone.
 */
import {
  kvList,
  kvSet,
  ownerLeaseKey,
  runActiveKey,
  runKey,
  RUNS_ACTIVE_PREFIX,
} from "../kv/keys.ts";
import type { OwnerLease } from "./lease.ts";
import { isTerminal, type RunRecord } from "./schema.ts";

/** What a sweep found. */
export interface Sweep {
  /** Runs to adopt, with the versionstamp to check against. */
  orphans: { record: RunRecord; versionstamp: string }[];
  /** When the earliest lease still held by another owner expires (a later sweep may adopt). */
  nextExpiry: number | null;
}

/** Finds adoptable runs; drops index entries of runs that ended or vanished. */
export async function sweep(kv: Deno.Kv, self: string, now: number): Promise<Sweep> {
  const out: Sweep = { orphans: [], nextExpiry: null };
  const active = await Array.fromAsync(kvList(kv, RUNS_ACTIVE_PREFIX));
  // Records and their owners' leases read ten at a time (KV's getMany limit), not one by one.
  for (let i = 0; i < active.length; i += 10) {
    const batch = active.slice(i, i + 10);
    const runs = await kv.getMany<RunRecord[]>(batch.map((e) => runKey(String(e.key[1]))));
    const owners = [...new Set(runs.flatMap((r) => r.value?.owner ?? []))]
      .filter((o) => o !== self);
    const leases = new Map<string, OwnerLease>();
    for (const l of await kv.getMany<OwnerLease[]>(owners.map(ownerLeaseKey))) {
      if (l.value) leases.set(l.value.owner, l.value);
    }
    for (const [j, entry] of batch.entries()) {
      const r = runs[j].value;
      if (!r || (isTerminal(r.status) && r.status !== "interrupted")) {
        await kv.atomic().check(entry).delete(entry.key).commit();
        continue;
      }
      if (r.owner === self) continue;
      const lease = r.owner ? leases.get(r.owner) : undefined;
      if (lease && lease.expiresAt > now) {
        out.nextExpiry = Math.min(out.nextExpiry ?? Infinity, lease.expiresAt);
        continue;
      }
      out.orphans.push({ record: r, versionstamp: runs[j].versionstamp! });
    }
  }
  return out;
}

/**
 * Makes `self` the owner of `run` (queued again, counted as a resume), checked against the
 * versionstamp it was read with; null when another process changed it first.
 */
export async function adopt(
  kv: Deno.Kv,
  run: { record: RunRecord; versionstamp: string },
  self: string,
  patch: Partial<RunRecord> = {},
): Promise<{ record: RunRecord; versionstamp: string } | null> {
  const record: RunRecord = {
    ...run.record,
    ...patch,
    status: "queued",
    owner: self,
    finishedAt: null,
    resumes: (run.record.resumes ?? 0) + 1,
  };
  const op = kv.atomic().check({ key: runKey(record.id), versionstamp: run.versionstamp });
  kvSet(op, runActiveKey(record.id), self);
  kvSet(op, runKey(record.id), record);
  const res = await op.commit();
  return res.ok ? { record, versionstamp: res.versionstamp } : null;
}
