/**
 * The Library's pages: `/library` (collections) and `/library/{id}` (one collection). They read
 * KV through the Library's store only, so rendering them opens no index.
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { notFound } from "../lib/http/errors.ts";
import { Island } from "../lib/islands/island.ts";
import { renderDocument } from "../lib/islands/render.ts";
import { DEFAULT_EMBEDDING_MODEL } from "../lib/library/prefixes.ts";
import { LibraryStore } from "../lib/library/store.ts";
import { Layout } from "./components/Layout.tsx";

/** The Library page routes, mounted at `/library`. */
export function libraryPageRoutes(ctx: AppContext) {
  const store = new LibraryStore(ctx.kv);
  return new Hono()
    .get("/", async (c) => {
      const collections = await Promise.all((await store.collections()).map((x) => store.view(x)));
      return c.html(renderDocument(
        "Library",
        <Layout active="/library">
          <h1>Library</h1>
          <p class="muted">
            Your own documents as a research source: indexed on this machine with a local embedding
            model, searchable by meaning and by keyword.
          </p>
          <Island
            name="LibraryHome"
            props={{ collections, defaultModel: DEFAULT_EMBEDDING_MODEL }}
          />
        </Layout>,
      ));
    })
    .get("/:id", async (c) => {
      const id = c.req.param("id");
      const col = /^[0-9a-f-]{36}$/.test(id) ? await store.collection(id) : null;
      if (!col) throw notFound(`No collection ${id.slice(0, 40)}`);
      return c.html(renderDocument(
        col.name,
        <Layout active="/library">
          <p class="small">
            <a href="/library">← Library</a>
          </p>
          <Island
            name="LibraryCollection"
            props={{
              collection: await store.view(col),
              documents: await store.documents(col.id),
              folderImport: (ctx.config.libraryRoots ?? []).length > 0,
            }}
          />
        </Layout>,
      ));
    });
}
