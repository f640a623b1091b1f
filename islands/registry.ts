/**
 * The one list of islands, shared by server (markers) and client (hydration), so a name cannot
 * exist on one side only.
 */
import type { ComponentProps } from "preact";
import { DeleteRun } from "./DeleteRun.tsx";
import { HistoryLive } from "./HistoryLive.tsx";
import { LibraryCollection } from "./LibraryCollection.tsx";
import { LibraryHome } from "./LibraryHome.tsx";
import { ResearchForm } from "./ResearchForm.tsx";
import { RunView } from "./RunView.tsx";
import { SettingsForm } from "./SettingsForm.tsx";

/** Every island component by name. */
export const ISLANDS = {
  SettingsForm,
  ResearchForm,
  RunView,
  DeleteRun,
  HistoryLive,
  LibraryHome,
  LibraryCollection,
} as const;

/** An island's name. */
export type IslandName = keyof typeof ISLANDS;

/** The props an island takes (JSON-serialisable by contract). */
export type IslandProps<N extends IslandName> = ComponentProps<(typeof ISLANDS)[N]>;
