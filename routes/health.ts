/** `/api/health`: liveness for Docker's health check and scripts. */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";

/** The health endpoint. */
export function healthRoutes(ctx: AppContext) {
  return new Hono().get("/", (c) => c.json({ status: "ok", version: ctx.version }));
}
