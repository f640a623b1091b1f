/** `/api/research`: start, list, read, follow (SSE), cancel, delete and export research runs. */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { readJsonObject } from "../lib/http/body.ts";
import { notFound } from "../lib/http/errors.ts";
import { parseInput } from "../lib/http/validate.ts";
import { providerServiceFor } from "../lib/providers/service.ts";
import { exportFileName } from "../lib/research/export.ts";
import { ResumeRequestSchema } from "../lib/research/resume.ts";
import { ResearchListQuerySchema, ResearchRequestSchema } from "../lib/research/schema.ts";
import { type ResearchService, researchServiceFor } from "../lib/research/service.ts";
import { DEFAULT_HEARTBEAT_MS, parseLastEventId, sseStream } from "../lib/research/sse.ts";

/** The research API; `service` defaults to the app's shared one (`researchServiceFor`). */
export function researchRoutes(
  ctx: AppContext,
  service: ResearchService = researchServiceFor(ctx, providerServiceFor(ctx)),
) {
  const heartbeatMs = ctx.config.sseHeartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  return new Hono()
    .post("/", async (c) => {
      const input = parseInput(
        ResearchRequestSchema,
        await readJsonObject(c.req.raw),
        "research request",
      );
      const run = await service.start(input);
      return c.json({ id: run.id, status: run.status }, 202, {
        location: `/api/research/${run.id}`,
      });
    })
    .get("/", async (c) => {
      const q = parseInput(ResearchListQuerySchema, c.req.query(), "query");
      return c.json(await service.list(q));
    })
    .get("/:id", async (c) => {
      const view = await service.get(c.req.param("id"));
      if (!view) throw notFound(`No research run ${c.req.param("id")}`);
      return c.json(view);
    })
    .delete("/:id", async (c) => {
      await service.remove(c.req.param("id"));
      return c.json({ id: c.req.param("id"), deleted: true });
    })
    .post("/:id/resume", async (c) => {
      // The body is optional: an empty one means "resume as it was".
      const raw = c.req.header("content-length") === "0" || !c.req.raw.body
        ? {}
        : await readJsonObject(c.req.raw);
      const input = parseInput(ResumeRequestSchema, raw, "resume request");
      const run = await service.resume(c.req.param("id"), input);
      return c.json({ id: run.id, status: run.status, run }, 202);
    })
    .post("/:id/cancel", async (c) => {
      const run = await service.cancel(c.req.param("id"));
      return c.json({ id: run.id, status: run.status, run });
    })
    .get("/:id/events", async (c) => {
      const id = c.req.param("id");
      const after = parseLastEventId(c.req.header("last-event-id") ?? c.req.query("lastEventId"));
      const client = new AbortController();
      const events = await service.events(id, after, client.signal);
      if (!events) throw notFound(`No research run ${id}`);
      const body = sseStream((signal) => {
        signal.addEventListener("abort", () => client.abort(), { once: true });
        return events;
      }, { heartbeatMs, shutdown: ctx.shutdown });
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          "x-accel-buffering": "no",
        },
      });
    })
    .get("/:id/export.md", async (c) => {
      const out = await service.exportMarkdown(c.req.param("id"));
      if (!out) throw notFound(`No research run ${c.req.param("id")}`);
      return c.body(out.markdown, 200, {
        "content-type": "text/markdown; charset=utf-8",
        "content-disposition": `attachment; filename="${exportFileName(out.run)}"`,
      });
    });
}
