/** `/api/openapi.json`: the API described from the mounted routes and the zod schemas. */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import type { RouteInfo } from "../lib/openapi.ts";

/**
 * The OpenAPI route. `routes` is read on the first request, when every route file is mounted,
 * so the document always lists what the app serves; it is built once and kept. lib/openapi.ts
 * (and the request schemas of every route it describes) loads with that first request.
 */
export function openapiRoutes(ctx: AppContext, routes: () => readonly RouteInfo[]) {
  let doc: Record<string, unknown> | undefined;
  return new Hono().get("/", async (c) => {
    doc ??= (await import("../lib/openapi.ts")).openApiDocument(routes(), ctx.version);
    return c.json(doc);
  });
}
