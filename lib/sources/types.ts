/**
 * What a sourced run stores: one `Source` per search hit it kept (each under its own KV key), the
 * `Passage`s cut from it, and the citation map of the finished report. Kept free of KV and of
 * the step runner so the pieces can be tested alone.
 */
import type { DocumentLocation, EngineId } from "../search/types.ts";

/** How much of a source was read ("found": not yet, the read step is still to come). */
export type SourceState = "found" | "read" | "snippet" | "library";

/** One retrieved source. */
export interface Source {
  /** Position in the run's source list, from 0: the KV key's last element. */
  index: number;
  title: string;
  url: string | null;
  location: DocumentLocation | null;
  engine: EngineId;
  /** The query that found it. */
  query: string;
  snippet: string;
  via?: string[];
  state: SourceState;
  /** Why a web page was not read (blocked, too large, 404, budget): the snippet stands in. */
  note?: string;
  /** After redirects, when the page was read. */
  finalUrl?: string;
  /** Another result led to the same page (after redirects): that source's index; no passages. */
  sameAs?: number;
  chars?: number;
}

/** A citable piece of a source. */
export interface Passage {
  /** `<sourceIndex>:<ord>`. */
  id: string;
  source: number;
  ord: number;
  text: string;
  /** Library passages: where in the document (a document is one source, its passages many). */
  page?: number | null;
  heading?: string | null;
}

/** One citation number of the report: the source it names and the passages cited under it. */
export interface Citation {
  n: number;
  source: number;
  passages: string[];
}

/** The run's citation summary (the final `citations` event, export.json). */
export interface CitationSummary {
  citations: Citation[];
  /** Markers that pointed at no passage and were removed. */
  removed: number;
  /** Sources retrieved but never cited ("Also consulted"). */
  uncited: number[];
}

/**
 * Short human location of a source: URL, or "document, p. 4, § Heading (collection)". With
 * `within` (the passages cited or shown), a Library document names their pages and headings.
 */
export function sourceLocation(
  s: Pick<Source, "url" | "location" | "title">,
  within: readonly Pick<Passage, "page" | "heading">[] = [],
): string {
  if (s.url) return s.url;
  const l = s.location;
  if (!l) return s.title;
  const pages = unique([l.page, ...within.map((p) => p.page)]).sort((a, b) => a - b);
  const headings = unique([l.heading, ...within.map((p) => p.heading)]);
  const parts = [l.documentTitle ?? l.document];
  if (pages.length) parts.push(`${pages.length > 1 ? "pp." : "p."} ${pages.join(", ")}`);
  if (headings.length) parts.push(headings.map((h) => `§ ${h}`).join("; "));
  return `${parts.join(", ")}${l.collectionName ? ` (${l.collectionName})` : ""}`;
}

function unique<T>(xs: readonly (T | null | undefined)[]): T[] {
  return [...new Set(xs.filter((x): x is T => x !== null && x !== undefined && x !== ""))];
}

/** The `source` event: what the Sources panel shows of a source. */
export interface SourceEventData {
  index: number;
  title: string;
  url: string | null;
  /** URL, or document with page/heading. */
  location: string;
  engine: EngineId;
  state: SourceState;
  note?: string;
}
