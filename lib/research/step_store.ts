/**
 * Step records in KV: one `runStepKey` per step holding its state and (small) output; outputs too
 * large for one KV value (64 KiB) are split into JSON parts under `runStepPartKey`. Writes are
 * staged into the live run's next flush, so a step's output commits together with the text and
 * events it produced.
 */
import {
  kvList,
  runStepKey,
  runStepPartKey,
  runStepPartsPrefix,
  runStepsPrefix,
} from "../kv/keys.ts";
import type { LiveRun } from "./live.ts";
import type { StepRecord } from "./steps/types.ts";
import { CHUNK_CHARS } from "./text.ts";

/** Longest output kept inline, and the size of each part: the text's chunk size (≤ 32 KiB). */
export const PART_CHARS = CHUNK_CHARS;

/** Every stored step record of a run by name, outputs reassembled. */
export async function loadSteps(
  kv: Deno.Kv,
  id: string,
): Promise<Map<string, StepRecord<unknown>>> {
  const out = new Map<string, StepRecord<unknown>>();
  for await (const e of kvList(kv, runStepsPrefix(id))) out.set(e.value.name, e.value);
  const parts = new Map<string, string[]>();
  for await (const e of kvList(kv, runStepPartsPrefix(id))) {
    const name = String(e.key[2]);
    const list = parts.get(name) ?? [];
    list[Number(e.key[3])] = e.value;
    parts.set(name, list);
  }
  for (const rec of out.values()) {
    if (!rec.parts) continue;
    const list = parts.get(rec.name) ?? [];
    const payload = JSON.parse(list.slice(0, rec.parts).join("")) as Payload;
    if ("output" in payload) rec.output = payload.output;
    if (payload.checkpoint) rec.checkpoint = payload.checkpoint;
  }
  return out;
}

/** The large members of a step record, stored in parts when they do not fit one value. */
type Payload = Pick<StepRecord<unknown>, "output" | "checkpoint">;

/**
 * Stages `rec` (splitting a large output or checkpoint into parts) into the run's next flush;
 * `oldParts` is how many parts the stored version had (the extra ones are deleted).
 */
export function saveStep<O>(live: LiveRun, rec: StepRecord<O>, oldParts = 0): number {
  const { output, checkpoint, parts: _old, ...meta } = rec;
  const payload: Payload = {};
  if (output !== undefined) payload.output = output;
  if (checkpoint !== undefined) payload.checkpoint = checkpoint;
  const json = JSON.stringify(payload);
  let parts = 0;
  if (json.length > PART_CHARS) {
    parts = Math.ceil(json.length / PART_CHARS);
    for (let i = 0; i < parts; i++) {
      const piece = json.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
      live.put(runStepPartKey(live.id, rec.name, i), piece);
    }
    live.put(runStepKey<O>(live.id, rec.name), { ...meta, parts });
  } else {
    live.put(runStepKey<O>(live.id, rec.name), { ...meta, ...payload } as StepRecord<O>);
  }
  for (let i = parts; i < oldParts; i++) live.del(runStepPartKey(live.id, rec.name, i));
  return parts;
}
