/**
 * Keeps the History table true while runs are going: polls the run list while any listed run is
 * queued or running and updates those rows' status badge and duration in place (the table itself
 * stays server-rendered). Renders nothing; stops polling once every listed run has ended.
 */
import { useEffect } from "preact/hooks";
import { api } from "./api.ts";

/** Props: the ids of the rows that were still active when the page was rendered. */
export interface HistoryLiveProps {
  active: string[];
  /** How many of the newest runs each poll reads (active runs are among the newest). */
  limit: number;
}

const POLL_MS = 2000;
const ACTIVE = ["queued", "running"];

interface ListedRun {
  id: string;
  status: string;
  startedAt: number | null;
  finishedAt: number | null;
}

function duration(r: ListedRun): string {
  if (r.startedAt == null || r.finishedAt == null) return "—";
  const ms = Math.max(0, r.finishedAt - r.startedAt);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** The invisible live updater of the History table. */
export function HistoryLive({ active, limit }: HistoryLiveProps) {
  useEffect(() => {
    let waiting = new Set(active);
    if (!waiting.size) return;
    let timer: ReturnType<typeof setTimeout>;
    async function poll() {
      const r = await api<{ runs: ListedRun[] }>("GET", `/api/research?limit=${limit}`);
      if (r.ok) {
        for (const run of r.data.runs) {
          if (!waiting.has(run.id)) continue;
          const row = document.querySelector(`tr[data-run="${CSS.escape(run.id)}"]`);
          const badge = row?.querySelector(".badge");
          if (badge && badge.textContent !== run.status) {
            badge.textContent = run.status;
            badge.className = `badge ${run.status}`;
          }
          const dur = row?.querySelector(".duration");
          if (dur) dur.textContent = duration(run);
        }
        const still = r.data.runs.filter((x) => waiting.has(x.id) && ACTIVE.includes(x.status));
        waiting = new Set(still.map((x) => x.id));
      }
      if (waiting.size) timer = setTimeout(poll, POLL_MS);
    }
    timer = setTimeout(poll, POLL_MS);
    return () => clearTimeout(timer);
  }, []);
  return null;
}
