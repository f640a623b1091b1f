/**
 * "No sources": what a run that used none says about it, on the run page and in the exports. A
 * run without engines answers from model knowledge by choice; a sourced run can end up there too
 * (nothing found, or every engine failed and the fallback was allowed): its reason is on the
 * record (`noSources`) and in the final `citations` event, so a live run view learns it at once.
 */
import type { RunRecord } from "../research/schema.ts";
import { usesSources } from "./request.ts";

/** Why `run` has no sources, or null when it searched and found some (or is still searching). */
export function noSourcesReason(run: Pick<RunRecord, "sources" | "noSources">): string | null {
  if (!usesSources(run.sources)) return "Model knowledge only: no sources were chosen";
  return run.noSources ?? null;
}

/**
 * Why a sourced run has nothing to cite, as its record's `noSources` and its report word it:
 * every source failed (the search step fell back to the model's knowledge), or none was found.
 * Undefined when there are passages to cite.
 */
export function whyNoPassages(
  search: { fallback: boolean },
  read: { passages: readonly unknown[] },
): string | undefined {
  if (search.fallback) return "Every source failed";
  if (!read.passages.length) return "No sources were found";
  return undefined;
}
