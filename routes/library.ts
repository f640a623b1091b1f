/**
 * The Library API: collections (`/api/collections…`), their documents (multipart upload, or a
 * server path / URL as JSON), live indexing events (SSE), and `/api/search`. Handlers only parse
 * and shape; lib/library/ does the work.
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { readJsonObject } from "../lib/http/body.ts";
import { AppError, notFound } from "../lib/http/errors.ts";
import { isMultipartContentType } from "../lib/http/security.ts";
import { parseInput } from "../lib/http/validate.ts";
import {
  AddDocumentJson as AddJson,
  CreateCollection,
  PatchCollection,
  Reindex,
  SearchQuery as Search,
} from "../lib/library/schema.ts";
import type { LibraryService } from "../lib/library/service.ts";
import { DEFAULT_HEARTBEAT_MS, sseStream } from "../lib/research/sse.ts";

type LibraryApi = typeof import("../lib/library/api.ts");
let api: Promise<LibraryApi> | null = null;
/** The Library's code, loaded on its first request. */
const load = () => api ??= import("../lib/library/api.ts");

/** Turns the Library's typed failures into the API's error shape. */
function mapError(e: unknown, { PathError, SafeFetchError, ExtractError }: LibraryApi): never {
  if (e instanceof PathError) {
    throw new AppError(
      e.status,
      e.status === 403 ? "forbidden" : e.status === 404 ? "not_found" : "bad_request",
      e.message,
    );
  }
  if (e instanceof SafeFetchError) {
    throw new AppError(
      e.failure.kind === "blocked" ? 403 : 502,
      e.failure.kind === "blocked" ? "forbidden" : "upstream",
      e.failure.message,
      {
        reason: e.failure.kind,
        hint: e.failure.hint,
      },
    );
  }
  if (e instanceof ExtractError) {
    throw new AppError(
      e.kind === "too_large" ? 413 : 400,
      e.kind === "too_large" ? "payload_too_large" : "bad_request",
      e.message,
    );
  }
  throw e;
}

/** The Library routes, mounted at `/api`. */
export function libraryRoutes(ctx: AppContext) {
  const library = async (): Promise<LibraryService> => (await load()).libraryServiceFor(ctx);
  const heartbeatMs = ctx.config.sseHeartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const collection = async (id: string) => {
    // Ids are UUIDs: anything else is not one (and must not reach KV, whose keys are bounded).
    if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound(`No collection ${id.slice(0, 40)}`);
    const c = await (await library()).store.collection(id);
    if (!c) throw notFound(`No collection ${id}`);
    return c;
  };
  return new Hono()
    .get("/collections", async (c) => {
      const lib = await library();
      const all = await lib.store.collections();
      return c.json({
        collections: await Promise.all(all.map((x) => lib.store.view(x))),
        folderImport: (ctx.config.libraryRoots ?? []).length > 0,
      });
    })
    .post("/collections", async (c) => {
      const input = parseInput(CreateCollection, await readJsonObject(c.req.raw), "collection");
      return c.json(await (await library()).createCollection(input), 201);
    })
    .get(
      "/collections/:id",
      async (c) => c.json(await (await library()).store.view(await collection(c.req.param("id")))),
    )
    .patch("/collections/:id", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      const input = parseInput(PatchCollection, await readJsonObject(c.req.raw), "change");
      if (input.name) await (await library()).renameCollection(id, input.name);
      if (input.state === "indexing") await (await library()).resume(id);
      return c.json(await (await library()).store.view(await collection(id)));
    })
    .delete("/collections/:id", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      await (await library()).deleteCollection(id);
      return c.json({ deleted: id });
    })
    .post("/collections/:id/reindex", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      const raw = c.req.header("content-length") === "0" || !c.req.header("content-type")
        ? {}
        : await readJsonObject(c.req.raw);
      const input = parseInput(Reindex, raw, "re-index");
      return c.json(await (await library()).reindex(id, input), 202);
    })
    .get("/collections/:id/documents", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      return c.json({ documents: await (await library()).store.documents(id) });
    })
    .post("/collections/:id/documents", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      const lib = await library();
      try {
        if (isMultipartContentType(c.req.header("content-type") ?? null)) {
          let form: FormData;
          try {
            form = await c.req.raw.formData();
          } catch {
            throw new AppError(400, "bad_request", "The upload is not valid multipart/form-data");
          }
          const files = [...form.values()].filter((v): v is File => v instanceof File);
          if (files.length === 0) {
            throw new AppError(
              400,
              "bad_request",
              "The upload holds no file; send them as form fields named files",
            );
          }
          const out = [];
          for (const f of files) {
            try {
              out.push(
                await lib.addUpload(
                  id,
                  f.name || "upload.txt",
                  new Uint8Array(await f.arrayBuffer()),
                ),
              );
            } catch (e) {
              if (!(e instanceof (await load()).ExtractError)) throw e;
              out.push({ name: f.name, error: e.message });
            }
          }
          return c.json({ uploads: out }, 201);
        }
        const input = parseInput(AddJson, await readJsonObject(c.req.raw), "document");
        if ("url" in input) return c.json(await lib.addUrl(id, input.url, c.req.raw.signal), 201);
        return c.json(await lib.addPath(id, input), 201);
      } catch (e) {
        mapError(e, await load());
      }
    })
    .delete("/collections/:id/documents/:docId", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      const docId = c.req.param("docId");
      if (!/^[0-9a-f]{20}$/.test(docId)) throw notFound(`No document ${docId.slice(0, 40)}`);
      if (!await (await library()).deleteDocument(id, docId)) {
        throw notFound(`No document ${docId} in this collection`);
      }
      return c.json({ deleted: docId });
    })
    .get("/collections/:id/events", async (c) => {
      const id = (await collection(c.req.param("id"))).id;
      const lib = await library();
      const body = sseStream(
        (signal) =>
          lib.events.follow(id, async () => ({
            collection: await lib.store.view(await collection(id)),
            documents: await lib.store.documents(id),
          }), signal),
        { heartbeatMs, shutdown: ctx.shutdown },
      );
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    })
    .get("/search", async (c) => {
      const input = parseInput(Search, c.req.query(), "search");
      const collections = input.collections?.split(",").map((s) => s.trim()).filter(Boolean);
      const result = await (await load()).searchLibrary(await library(), {
        q: input.q,
        collections,
        k: input.k,
        signal: c.req.raw.signal,
      });
      return c.json(result);
    });
}
