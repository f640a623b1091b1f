/**
 * Reading a search hit: Library hits are already text; web hits are fetched through the
 * SSRF-safe fetcher (within the run's page budget) and extracted (HTML through Readability,
 * text as is, PDF through the extractor the Library uses when one is given). A page that cannot
 * be read becomes a note on the source, and its search snippet stays a citable passage.
 */
import { safeFetch, SafeFetchError, type SafeFetchOptions } from "../net/safe_fetch.ts";
import { extractPdf } from "../extract/pdf.ts";
import type { FoundHit } from "../search/multi.ts";
import { cutPassages } from "./passages.ts";
import type { Passage, Source } from "./types.ts";

/** Most passages kept per source (keeps one source's KV value well under 64 KiB). */
export const MAX_PASSAGES_PER_SOURCE = 16;

/** What reading needs. */
export interface ReadOptions {
  fetch: SafeFetchOptions;
  /** PDF bytes → text; default: the Library's PDF extractor (`lib/extract/pdf.ts`). */
  extractPdf?: (bytes: Uint8Array) => Promise<string>;
  /** False when the run's page budget is spent: the snippet stands in. */
  mayFetch: boolean;
}

/** A read source and its passages. */
export interface ReadResult {
  source: Source;
  passages: Passage[];
}

function toPassages(index: number, texts: string[]): Passage[] {
  return texts.map((text, ord) => ({ id: `${index}:${ord}`, source: index, ord, text }));
}

/**
 * The HTML extractor, loaded when the first web page is read: Readability and linkedom hold
 * ~30 MB once imported, which a deepstudio that never reads the web should not carry (idle RSS,
 * docs/benchmarks.md).
 */
let html: Promise<typeof import("../extract/html.ts")> | undefined;
const htmlExtractor = () => html ??= import("../extract/html.ts");

/** A Library document's passages: each matching part cut as usual, keeping its page/heading. */
function partPassages(index: number, hit: FoundHit): Passage[] {
  const parts = hit.parts ?? [{ text: hit.text ?? "", page: null, heading: null }];
  const located = parts.flatMap((part) =>
    cutPassages(part.text).map((text) => ({ text, page: part.page, heading: part.heading }))
  ).slice(0, MAX_PASSAGES_PER_SOURCE);
  return located.map((p, ord) => ({ id: `${index}:${ord}`, source: index, ord, ...p }));
}

/** A PDF's text layer, one block per paragraph (scanned PDFs without one throw, as a note). */
async function pdfText(bytes: Uint8Array): Promise<string> {
  const doc = await extractPdf(bytes, "page.pdf");
  return doc.blocks.map((b) => b.text).join("\n\n");
}

/** The source a hit becomes (before it is read). */
export function sourceOfHit(hit: FoundHit, index: number, state: Source["state"]): Source {
  return {
    index,
    title: hit.title,
    url: hit.url,
    location: hit.location,
    engine: hit.engine,
    query: hit.query,
    snippet: hit.snippet,
    ...(hit.via ? { via: hit.via } : {}),
    state,
  };
}

/** Reads one hit; never throws (failures are notes). */
export async function readHit(
  hit: FoundHit,
  index: number,
  opts: ReadOptions,
): Promise<ReadResult> {
  const base = sourceOfHit(hit, index, "snippet");
  const snippetOnly = (note?: string): ReadResult => ({
    source: { ...base, ...(note ? { note } : {}) },
    passages: toPassages(index, hit.snippet ? [hit.snippet] : []),
  });
  if (hit.text !== undefined) {
    return {
      source: { ...base, state: "library", chars: hit.text.length },
      passages: partPassages(index, hit),
    };
  }
  if (!hit.url) return snippetOnly();
  if (!opts.mayFetch) return snippetOnly("Not read: the run's page budget was spent.");
  try {
    const page = await safeFetch(hit.url, opts.fetch);
    let text = "";
    let title = base.title;
    const { decodeHtml, extractHtml } = await htmlExtractor();
    if (page.contentType === "text/html" || page.contentType === "application/xhtml+xml") {
      const ex = extractHtml(decodeHtml(page.bytes, page.charset));
      text = ex.text;
      if ((!title || title === hit.url) && ex.title) title = ex.title;
    } else if (page.contentType === "application/pdf") {
      text = await (opts.extractPdf ?? pdfText)(page.bytes);
    } else {
      text = decodeHtml(page.bytes, page.charset);
    }
    if (!text.trim()) return snippetOnly("Not read: the page has no readable text.");
    const passages = cutPassages(text, { limit: MAX_PASSAGES_PER_SOURCE });
    return {
      source: { ...base, title, state: "read", finalUrl: page.url, chars: text.length },
      passages: toPassages(index, passages),
    };
  } catch (err) {
    const why = err instanceof SafeFetchError
      ? err.failure.message
      : `extraction failed: ${(err as Error)?.message ?? err}`;
    return snippetOnly(`Not read: ${why}`);
  }
}

/**
 * Results whose pages turned out to be one page (two URLs redirecting to the same place) are one
 * document: the first keeps its passages, each later one is marked `sameAs` it and has none, so
 * the page is cited under one number. Returns the indexes of the results it changed.
 */
export function markSamePages(results: ReadResult[]): number[] {
  const first = new Map<string, number>();
  const changed: number[] = [];
  results.forEach((r, i) => {
    const s = r.source;
    if (s.state !== "read" || !s.finalUrl) return;
    const key = s.finalUrl.split("#")[0];
    const k = first.get(key);
    if (k === undefined) return void first.set(key, i);
    const title = results[k].source.title;
    results[i] = { source: { ...s, sameAs: k, note: `Same page as "${title}"` }, passages: [] };
    changed.push(i);
  });
  return changed;
}
