/**
 * A run's sources: `GET /api/research/{id}/sources` (what the Sources panel and the citation
 * popover show) and `GET /api/research/{id}/export.json` (question, report, sources and the
 * cited passages, for people who keep their research elsewhere).
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { notFound } from "../lib/http/errors.ts";
import { providerServiceFor } from "../lib/providers/service.ts";
import { exportFileName } from "../lib/research/export.ts";
import { researchServiceFor } from "../lib/research/service.ts";
import { noSourcesReason } from "../lib/sources/no_sources.ts";
import { sourcesView } from "../lib/sources/store.ts";

/** The routes, mounted next to the research routes under /api/research. */
export function sourcesRoutes(ctx: AppContext) {
  const service = researchServiceFor(ctx, providerServiceFor(ctx));
  /** The run `id` once its staged writes are in KV (sources are read from KV), or a 404. */
  const settled = async (id: string) => {
    const view = await service.get(id);
    if (!view) throw notFound(`No research run ${id}`);
    await service.persisted(id);
    return view;
  };
  return new Hono()
    .get("/:id/sources", async (c) => {
      const id = c.req.param("id");
      await settled(id);
      return c.json(await sourcesView(ctx.kv, id));
    })
    .get("/:id/export.json", async (c) => {
      const id = c.req.param("id");
      const view = await settled(id);
      const s = await sourcesView(ctx.kv, id);
      const { run, text } = view;
      return c.json(
        {
          id: run.id,
          question: run.query,
          mode: run.mode,
          status: run.status,
          createdAt: run.createdAt,
          finishedAt: run.finishedAt,
          model: run.metrics.model ?? run.settings.model,
          report: text,
          sources: s.sources,
          citations: s.citations?.citations ?? [],
          removedCitations: s.citations?.removed ?? 0,
          noSources: noSourcesReason(run),
          passages: s.passages,
        },
        200,
        {
          "content-disposition": `attachment; filename="${
            exportFileName(run).replace(/\.md$/, ".json")
          }"`,
        },
      );
    });
}
