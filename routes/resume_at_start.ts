/**
 * Start-up recovery of research runs and Library indexing without loading their code when there
 * is nothing to recover. The research service (lib/research/service.ts) adopts and resumes runs a dead process
 * left unfinished as soon as it is built; the routes build it on their first request
 * (routes/lazy.ts). At start-up one KV list of the unfinished-runs index (at most one entry read)
 * decides: an entry means a run to recover (or one another live process runs, which the service
 * then watches), so the service is built now; none means it waits for the first request, which
 * sweeps again anyway. tests/faults/kill_test.ts proves a run killed with -9 resumes at start.
 */
import type { AppContext } from "../lib/context.ts";
import { COLLECTIONS_PREFIX, RUNS_ACTIVE_PREFIX } from "../lib/kv/keys.ts";

/** Builds the research service (which recovers runs) when a run is unfinished; resolves then. */
export async function resumeResearchAtStart(ctx: AppContext): Promise<boolean> {
  const first = await ctx.kv.list({ prefix: RUNS_ACTIVE_PREFIX }, { limit: 1 }).next();
  if (first.done) return false;
  const [{ researchServiceFor }, { providerServiceFor }] = await Promise.all([
    import("../lib/research/service.ts"),
    import("../lib/providers/service.ts"),
  ]);
  researchServiceFor(ctx, providerServiceFor(ctx));
  return true;
}

/**
 * Builds the Library only when a previous process left a collection indexing or paused, so its
 * job resumes; otherwise nothing is loaded (the Library routes load it on their first request).
 */
export async function resumeLibraryAtStart(ctx: AppContext): Promise<void> {
  for await (const e of ctx.kv.list<{ state: string }>({ prefix: COLLECTIONS_PREFIX })) {
    if (e.value.state === "indexing" || e.value.state === "paused") {
      (await import("../lib/library/api.ts")).libraryServiceFor(ctx);
      return;
    }
  }
}
