/**
 * What a run asks of its sources: `sources: {engines, collections?, maxSources?}` in
 * `POST /api/research` (all optional: without it the `search.engine` setting decides), resolved
 * once at submission into the run record so a resumed run searches the same way.
 */
import { z } from "zod";
import { ENGINE_IDS, type EngineId } from "../search/types.ts";
import type { Settings } from "../settings/schema.ts";

/** The request's `sources` member. */
export const SourcesRequestSchema = z.strictObject({
  engines: z.array(
    z.enum(ENGINE_IDS, { error: `Unknown engine; choose from ${ENGINE_IDS.join(", ")}` }),
  ).min(1, "Name at least one engine (or none)").max(ENGINE_IDS.length),
  collections: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
  maxSources: z.number({ error: "Enter a whole number from 1 to 100" }).int(
    "Enter a whole number from 1 to 100",
  ).min(1, "Must be at least 1").max(100, "Must be at most 100").optional(),
});

/** A validated `sources` member. */
export type SourcesRequest = z.output<typeof SourcesRequestSchema>;

/** The sources a run uses, as stored on its record. */
export interface RunSources {
  /** Never empty; `["none"]` means model knowledge only. */
  engines: EngineId[];
  collections?: string[];
  /** Results kept per query per engine. */
  maxSources: number;
}

/** The collections named by the `search.library.collections` setting (names or ids). */
export function defaultCollections(
  settings: Pick<Settings, "search.library.collections">,
): string[] {
  const raw = settings["search.library.collections"] ?? "";
  return [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))];
}

/**
 * The request's choice over the settings' defaults; "none" beside real engines is dropped. The
 * Library searches the request's collections, else the setting's, else all of them.
 */
export function resolveSources(req: SourcesRequest | undefined, settings: Settings): RunSources {
  const chosen = [...new Set(req?.engines ?? [settings["search.engine"]])];
  const engines = chosen.length > 1 ? chosen.filter((e) => e !== "none") : chosen;
  const collections = req?.collections?.length ? req.collections : defaultCollections(settings);
  return {
    engines,
    ...(engines.includes("library") && collections.length ? { collections } : {}),
    maxSources: req?.maxSources ?? settings["search.max_sources"],
  };
}

/** True when the run searches anything. */
export function usesSources(s: RunSources | undefined): s is RunSources {
  return !!s && s.engines.some((e) => e !== "none");
}
