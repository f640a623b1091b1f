/**
 * The report's reference list: every cited source once, in citation order, with its title,
 * where it is (URL, or document + page/heading) and the engine; then the sources retrieved but
 * not cited under "Also consulted". A run without sources says so instead.
 */
import type { Citation, Passage, Source } from "./types.ts";
import { sourceLocation } from "./types.ts";

const ENGINE_LABELS: Record<string, string> = {
  searxng: "web",
  library: "Library",
  wikipedia: "Wikipedia",
  none: "none",
};

function mdText(s: string): string {
  return s.replace(/([\\`*_[\]<>])/g, "\\$1").replace(/\s+/g, " ").trim();
}

function line(s: Source, cited: readonly Passage[] = []): string {
  const where = s.url ? `<${s.url}>` : mdText(sourceLocation(s, cited));
  return `${mdText(s.title || where)} — ${where} (${ENGINE_LABELS[s.engine] ?? s.engine})`;
}

/** An engine that failed, as the report names it. */
export interface FailedEngine {
  title: string;
  message: string;
}

/**
 * Markdown for the Sources and Also consulted sections (and engines that failed); `passages`
 * lets a cited Library document name the pages and headings of the passages cited from it.
 */
export function sourcesMarkdown(
  citations: readonly Citation[],
  sources: readonly Source[],
  failed: readonly FailedEngine[] = [],
  passages: readonly Passage[] = [],
): string {
  const byIndex = new Map(sources.map((s) => [s.index, s]));
  const passageById = new Map(passages.map((p) => [p.id, p]));
  const cited = new Set(citations.map((c) => c.source));
  const out: string[] = [];
  if (citations.length) {
    out.push("## Sources", "");
    for (const c of [...citations].sort((a, b) => a.n - b.n)) {
      const s = byIndex.get(c.source);
      const cited = c.passages.flatMap((id) => passageById.get(id) ?? []);
      if (s) out.push(`[${c.n}] ${line(s, cited)}  `);
    }
  }
  // A result that led to a page listed already is not listed again.
  const rest = sources.filter((s) => !cited.has(s.index) && s.sameAs === undefined);
  if (rest.length) {
    if (out.length) out.push("");
    out.push("## Also consulted", "");
    for (const s of rest) out.push(`- ${line(s)}`);
  }
  if (failed.length) {
    if (out.length) out.push("");
    out.push(...failed.map((f) => `_Not searched: ${mdText(f.title)}: ${mdText(f.message)}_  `));
  }
  return out.join("\n");
}

/** The label of a run that used no sources. */
export const NO_SOURCES_LABEL = "No sources: answered from the model's own knowledge.";
