/**
 * Sourced runs: read what was found. Library hits are text already; web pages are fetched
 * through the SSRF-safe fetcher (private addresses only with `search.allow_private_urls`) within
 * the run's page budget (`search.max_pages`), best-ranked first, a few at a time. A page that
 * fails is a note on its source and its snippet still counts. Each source and its passages are
 * stored under their own keys; the panel hears about each through a `source` event.
 */
import { runPassagesKey, runPassagesPrefix, runSourceKey } from "../../kv/keys.ts";
import { defineStep } from "../../research/steps/types.ts";
import { mapBounded } from "../../search/multi.ts";
import { markSamePages, readHit } from "../read.ts";
import type { Passage, Source } from "../types.ts";
import { searchStep, sourceEvent } from "./search.ts";

/** Pages fetched at once. */
export const READ_CONCURRENCY = 4;

/** Every source with its passages (the select/answer steps rank these). */
export interface ReadOutput {
  sources: Source[];
  passages: Passage[];
}

/** Reads the sources. */
export const readStep = defineStep({
  name: "read",
  label: "Read the sources",
  needs: { search: searchStep },
  owns: (id) => [runPassagesPrefix(id)],
  async run(ctx, { search: { hits } }): Promise<ReadOutput> {
    if (!hits.length) return { sources: [], passages: [] };
    const c = ctx.config;
    let budget = c["search.max_pages"];
    const fetchOpts = {
      allowPrivate: c["search.allow_private_urls"],
      timeoutMs: c["search.fetch_timeout"] * 1000,
      maxBytes: c["search.max_page_kib"] * 1024,
      signal: ctx.signal,
    };
    // Pages are read in the engines' order; hits past the budget keep their snippets.
    const mayFetch = hits.map((h) => h.url !== null && h.text === undefined && budget-- > 0);
    let done = 0;
    const pages = mayFetch.filter(Boolean).length;
    ctx.progress(
      pages ? `Reading ${pages} page${pages === 1 ? "" : "s"}` : "Using the found passages",
      0.02,
    );
    const results = await mapBounded(hits, READ_CONCURRENCY, async (hit, i) => {
      const r = await readHit(hit, i, { fetch: fetchOpts, mayFetch: mayFetch[i] });
      if (mayFetch[i]) {
        done++;
        ctx.progress(`Read ${done} of ${pages}: ${r.source.title}`, done / Math.max(1, pages));
      }
      ctx.put(runSourceKey(ctx.run.id, i), r.source);
      ctx.put(runPassagesKey(ctx.run.id, i), r.passages);
      ctx.emit("source", sourceEvent(r.source, r.passages));
      return r;
    });
    for (const i of markSamePages(results)) {
      ctx.put(runSourceKey(ctx.run.id, i), results[i].source);
      ctx.put(runPassagesKey(ctx.run.id, i), []);
      ctx.emit("source", sourceEvent(results[i].source));
    }
    const unread = results.filter((r, i) => mayFetch[i] && r.source.state !== "read");
    if (unread.length) {
      ctx.progress(
        `${unread.length} page${unread.length === 1 ? "" : "s"} could not be read; ` +
          "their search snippets still count",
        1,
        { unread: unread.map((r) => ({ url: r.source.url, note: r.source.note })) },
      );
    }
    return {
      sources: results.map((r) => r.source),
      passages: results.flatMap((r) => r.passages),
    };
  },
});

/** What each step that works from the gathered sources needs: the search (failures, fallback) and the read passages. */
export const SOURCES_NEEDS = { search: searchStep, read: readStep };
