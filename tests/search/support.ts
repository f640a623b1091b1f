/** What the web-engine tests share: one sourced run through the app, its sources read back. */
import { assertEquals } from "../assert.ts";
import type { EngineId } from "../../lib/search/types.ts";
import type { CitationSummary, Source } from "../../lib/sources/types.ts";
import type { Harness } from "../research/support.ts";

/** `GET /api/research/{id}/sources` of a finished sourced run. */
export interface SourcesBody {
  sources: Source[];
  citations: CitationSummary;
  passages: Record<string, string>;
}

/** Starts a run on `engine` alone, checks it was accepted and completed, and reads its sources. */
export async function sourcedRun(h: Harness, query: string, engine: EngineId) {
  const { status, json } = await h.post({ query, sources: { engines: [engine] } });
  assertEquals(status, 202, JSON.stringify(json));
  const run = await h.waitRun(json.id as string);
  assertEquals(run.status, "completed", run.text);
  const body = (await h.get(`/api/research/${run.id}/sources`)).json as unknown as SourcesBody;
  return { run, body };
}
