/**
 * The `none` engine: model knowledge only. It finds nothing on purpose, so a run that chose it
 * is labelled "no sources" and its report carries no Sources section.
 */
import type { SearchEngine } from "./types.ts";

/** The engine that searches nothing. */
export const noneEngine: SearchEngine = {
  id: "none",
  label: "No sources (model knowledge)",
  search: () => Promise.resolve({ hits: [], notes: [] }),
  status: () =>
    Promise.resolve({
      id: "none",
      label: "No sources (model knowledge)",
      state: "available",
      detail: "Answers come from the model alone and cite nothing.",
    }),
};
