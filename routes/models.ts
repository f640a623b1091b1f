/**
 * `/api/providers/lmstudio/models/load` and `/unload`: load a model with the context the work
 * needs, or free one. The load answers as an SSE stream (`progress`* then `done` or `error`),
 * since LM Studio takes seconds to minutes and says nothing meanwhile; the load itself belongs to
 * the server (lib/providers/model_loads.ts): a client that disconnects stops only its stream.
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { readJsonObject } from "../lib/http/body.ts";
import { parseInput } from "../lib/http/validate.ts";
import { ProviderError } from "../lib/providers/errors.ts";
import {
  LoadRequestSchema,
  modelAdminFor,
  UnloadRequestSchema,
} from "../lib/providers/model_admin.ts";
import type { LoadEvent, LoadJob } from "../lib/providers/model_loads.ts";

const encoder = new TextEncoder();

function loadStream(job: LoadJob, joined: boolean): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  let seq = 0;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const write = (type: string, data: unknown) => {
        try {
          controller.enqueue(
            encoder.encode(`id: ${++seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`),
          );
        } catch { /* the client left */ }
      };
      write("start", { model: job.model, contextLength: job.contextLength, joined });
      for await (const ev of job.events(stop.signal) as AsyncIterable<LoadEvent>) {
        write(ev.type, ev);
      }
      try {
        controller.close();
      } catch { /* cancelled */ }
    },
    cancel() {
      stop.abort();
    },
  });
}

/** The model load routes, mounted at /api/providers/lmstudio/models. */
export function modelRoutes(ctx: AppContext) {
  const admin = modelAdminFor(ctx);
  const upstream = (e: unknown) => {
    if (e instanceof ProviderError) return Response.json({ error: e.error }, { status: 502 });
    throw e;
  };
  return new Hono()
    .post("/load", async (c) => {
      const input = parseInput(LoadRequestSchema, await readJsonObject(c.req.raw), "load request");
      let started;
      try {
        started = await admin.load(input.model, input.contextLength);
      } catch (e) {
        return upstream(e);
      }
      return new Response(loadStream(started.job, started.joined), {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          "x-accel-buffering": "no",
        },
      });
    })
    .post("/unload", async (c) => {
      const input = parseInput(
        UnloadRequestSchema,
        await readJsonObject(c.req.raw),
        "unload request",
      );
      try {
        return c.json(await admin.unload(input.instanceId));
      } catch (e) {
        return upstream(e);
      }
    });
}
