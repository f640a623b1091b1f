/** The history page's bundle: only DeleteRun, HistoryLive (see lib/islands/bundles.ts). */
import { boot } from "../boot.ts";
import { DeleteRun } from "../DeleteRun.tsx";
import { HistoryLive } from "../HistoryLive.tsx";

boot({ DeleteRun, HistoryLive });
