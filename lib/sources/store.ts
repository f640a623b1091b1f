/**
 * Reading a run's sources back from KV: every source under its own key (so a run can hold
 * hundreds while its record stays small), the passages per source, and the citation summary.
 * The research steps write them (staged into the run's flushes); routes and exports read here.
 */
import { kvGet, kvList, runCitationsKey, runPassagesKey, runSourcesPrefix } from "../kv/keys.ts";
import type { CitationSummary, Passage, Source } from "./types.ts";

/** A run's sources in index order. */
export async function loadSources(kv: Deno.Kv, id: string): Promise<Source[]> {
  const out: Source[] = [];
  for await (const e of kvList(kv, runSourcesPrefix(id))) out.push(e.value);
  return out.sort((a, b) => a.index - b.index);
}

/** A run's citation summary, or null before the report is final (or for runs without sources). */
export async function loadCitations(kv: Deno.Kv, id: string): Promise<CitationSummary | null> {
  return (await kvGet(kv, runCitationsKey(id))).value;
}

/** The text of the given passages (`source:ord` ids), read per source. */
export async function loadPassages(
  kv: Deno.Kv,
  id: string,
  ids: readonly string[],
): Promise<Record<string, string>> {
  const wanted = new Set(ids);
  const sources = [...new Set(ids.map((p) => Number(p.split(":")[0])))];
  const out: Record<string, string> = {};
  for (let i = 0; i < sources.length; i += 10) {
    const batch = sources.slice(i, i + 10).map((s) => runPassagesKey(id, s));
    for (const e of await kv.getMany<Passage[][]>(batch)) {
      for (const p of e.value ?? []) if (wanted.has(p.id)) out[p.id] = p.text;
    }
  }
  return out;
}

/** Everything a run keeps about its sources, for the API and export.json. */
export async function sourcesView(kv: Deno.Kv, id: string) {
  const [sources, citations] = await Promise.all([loadSources(kv, id), loadCitations(kv, id)]);
  const ids = citations?.citations.flatMap((c) => c.passages) ?? [];
  return { sources, citations, passages: await loadPassages(kv, id, ids) };
}
