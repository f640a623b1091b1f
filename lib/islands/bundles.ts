/**
 * Page bundles: each lists the islands one kind of page uses, built from islands/pages/<name>.ts
 * into static/build/page-<name>.js. A page whose islands all sit in one page bundle loads just
 * that bundle; any other page loads the full client bundle (every island), so a new island works
 * everywhere before it gets a page bundle of its own.
 */
import type { IslandName } from "../../islands/registry.ts";

/** Page bundle name → the islands in it (must match islands/pages/<name>.ts). */
export const PAGE_BUNDLES: Record<string, readonly IslandName[]> = {
  research: ["ResearchForm"],
  run: ["RunView"],
  history: ["DeleteRun", "HistoryLive"],
  settings: ["SettingsForm"],
  library: ["LibraryHome", "LibraryCollection"],
};

/** The page bundle that has every island in `used`, or null for the full client bundle. */
export function pageBundleFor(used: readonly string[]): string | null {
  for (const [name, islands] of Object.entries(PAGE_BUNDLES)) {
    if (used.every((u) => (islands as readonly string[]).includes(u))) return name;
  }
  return null;
}
