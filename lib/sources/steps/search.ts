/**
 * Sourced runs: every query on every chosen engine (in parallel, bounded), each hit stored as a
 * source under its own KV key and announced with a `source` event. An engine that fails is a
 * note and a typed error; the others go on. When every engine fails, the run answers from model
 * knowledge only if `search.model_fallback` allows it, else it fails with the engine's error.
 */
import { runPassagesPrefix, runSourceKey, runSourcesPrefix } from "../../kv/keys.ts";
import type { UpstreamError } from "../../providers/types.ts";
import { planStep } from "../../research/steps/plan.ts";
import type { Step, StepContext } from "../../research/steps/types.ts";
import { buildEngine } from "../../search/engines.ts";
import type { SearchFailure } from "../../search/errors.ts";
import { type FoundHit, searchAll } from "../../search/multi.ts";
import { sourceOfHit } from "../read.ts";
import { usesSources } from "../request.ts";
import { type Passage, type Source, sourceLocation } from "../types.ts";
import { queriesStep } from "./queries.ts";

/** Searches in flight at once. */
export const SEARCH_CONCURRENCY = 4;

/** The hits (index = source index), what failed, and whether the run fell back. */
export interface SearchOutput {
  hits: FoundHit[];
  failures: SearchFailure[];
  notes: string[];
  /** Every engine failed and the user allowed model knowledge instead. */
  fallback: boolean;
}

/** The queries of this run's mode. */
function queriesOf(ctx: StepContext): string[] {
  if (ctx.run.mode === "detailed") return [ctx.run.query, ...ctx.input(planStep).questions];
  return ctx.input(queriesStep).queries;
}

/** A search failure in the shape the run's error report takes. */
export function searchFailureAsError(f: SearchFailure, ctx: StepContext): UpstreamError {
  return {
    kind: f.kind === "timeout" ? "timeout" : f.kind === "rate_limit" ? "rate_limit" : "connection",
    title: f.title,
    message: f.message,
    hint: f.hint,
    provider: ctx.settings.provider,
    url: f.url ?? "",
    ...(f.status ? { status: f.status } : {}),
  };
}

/** The `source` event of a source (a read Library document names its passages' places). */
export function sourceEvent(s: Source, passages: readonly Passage[] = []) {
  return {
    index: s.index,
    title: s.title,
    url: s.url,
    location: sourceLocation(s, passages),
    engine: s.engine,
    state: s.state,
    ...(s.note ? { note: s.note } : {}),
  };
}

/** Runs the searches. */
export const searchStep: Step<SearchOutput> = {
  name: "search",
  label: "Search the sources",
  owns: (id) => [runSourcesPrefix(id), runPassagesPrefix(id)],
  async run(ctx) {
    const sources = ctx.record.sources;
    if (!usesSources(sources)) return { hits: [], failures: [], notes: [], fallback: false };
    const deps = ctx.sources;
    const engines = sources.engines.map((id) =>
      buildEngine(id, {
        settings: ctx.config,
        fetch: deps.fetch,
        searchLibrary: deps.searchLibrary,
      }, sources.collections)
    );
    const queries = queriesOf(ctx);
    ctx.progress(
      `Searching ${engines.map((e) => e.label).join(" and ")} for ${queries.length} quer${
        queries.length === 1 ? "y" : "ies"
      }`,
      0.05,
    );
    const indexOf = new Map<FoundHit, number>();
    const result = await searchAll(queries, engines, {
      limit: sources.maxSources,
      concurrency: SEARCH_CONCURRENCY,
      signal: ctx.signal,
      onHit(hit, merged) {
        // A further passage of a document found before updates that document's source.
        if (!merged) indexOf.set(hit, indexOf.size);
        const i = indexOf.get(hit)!;
        const s = sourceOfHit(hit, i, hit.text !== undefined ? "library" : "found");
        ctx.put(runSourceKey(ctx.run.id, s.index), s);
        ctx.emit("source", sourceEvent(s));
      },
    });
    for (const n of result.notes) ctx.progress(n);
    const failures = dedupeFailures(result.failures);
    for (const f of failures) {
      ctx.progress(`${f.title}: ${f.message}. ${f.hint}`, undefined, { engine: f.engine });
      ctx.emit("error", { ...searchFailureAsError(f, ctx), fatal: false });
    }
    const allFailed = result.failedEngines.length === engines.length && result.hits.length === 0;
    if (allFailed) {
      if (!ctx.config["search.model_fallback"]) {
        return ctx.fail(searchFailureAsError(failures[0], ctx));
      }
      ctx.progress("Every source failed; answering from the model's knowledge as allowed", 1);
      return { hits: [], failures, notes: result.notes, fallback: true };
    }
    ctx.progress(`Found ${result.hits.length} sources`, 1, { sources: result.hits.length });
    return { hits: result.hits, failures, notes: result.notes, fallback: false };
  },
};

/** One failure per engine and kind (the same 403 for every query says nothing new). */
function dedupeFailures(list: (SearchFailure & { query: string })[]): SearchFailure[] {
  const seen = new Map<string, SearchFailure>();
  for (const { query: _q, ...f } of list) {
    const key = `${f.engine}:${f.kind}`;
    if (!seen.has(key)) seen.set(key, f);
  }
  return [...seen.values()];
}
