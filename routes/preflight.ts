/**
 * `POST /api/research/preflight`: the Research form's "will this fit?" before a run starts. Same
 * body as `POST /api/research`; answers with the estimate, the context the run would get, and the
 * load/reload action when it will not fit (lib/research/preflight.ts).
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { readJsonObject } from "../lib/http/body.ts";
import { parseInput } from "../lib/http/validate.ts";
import { providerServiceFor } from "../lib/providers/service.ts";
import { preflight } from "../lib/research/preflight.ts";
import { ResearchRequestSchema } from "../lib/research/schema.ts";

/** The pre-flight route, mounted at /api/research/preflight. */
export function preflightRoutes(ctx: AppContext) {
  const providers = providerServiceFor(ctx);
  return new Hono().post("/", async (c) => {
    const input = parseInput(
      ResearchRequestSchema,
      await readJsonObject(c.req.raw),
      "research request",
    );
    return c.json(await preflight(providers, input));
  });
}
