/**
 * Search API: `GET /api/search/status` lists every source engine's state (what the Status page
 * shows), so scripts and the UI can tell whether SearXNG answers JSON before starting a run.
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { engineStatuses, searchDepsFor } from "../lib/search/engines.ts";

/** The search routes. */
export function searchRoutes(ctx: AppContext): Hono {
  return new Hono().get("/status", async (c) => {
    const engines = await engineStatuses(await searchDepsFor(ctx), c.req.raw.signal);
    return c.json({ engines });
  });
}
