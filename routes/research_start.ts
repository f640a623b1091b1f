/**
 * Start-up recovery of research runs without loading the research code when there is nothing to
 * recover. The research service (lib/research/service.ts) adopts and resumes runs a dead process
 * left unfinished as soon as it is built; the routes build it on their first request
 * (routes/lazy.ts). At start-up one KV list of the unfinished-runs index (at most one entry read)
 * decides: an entry means a run to recover (or one another live process runs, which the service
 * then watches), so the service is built now; none means it waits for the first request, which
 * sweeps again anyway. tests/faults/kill_test.ts proves a run killed with -9 resumes at start.
 */
import type { AppContext } from "../lib/context.ts";
import { RUNS_ACTIVE_PREFIX } from "../lib/kv/keys.ts";

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
