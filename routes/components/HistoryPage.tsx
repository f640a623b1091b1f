/**
 * The History page body: past runs, newest first, as a plain server-rendered table (paging is a
 * link with the cursor); only each row's Delete button is an island.
 */
import type { RunRecord } from "../../lib/research/schema.ts";
import { Island } from "../../lib/islands/island.ts";

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** `2025-11-25 14:03` in the server's local time (deepstudio runs on the person's machine). */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${
    pad(d.getMinutes())
  }`;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`; "—" when the run has not finished. */
export function formatDuration(run: Pick<RunRecord, "startedAt" | "finishedAt">): string {
  if (run.startedAt == null || run.finishedAt == null) return "—";
  const ms = Math.max(0, run.finishedAt - run.startedAt);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
}

function short(text: string, max = 90): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The history table, or an empty state that points at the Research page. */
export function HistoryPage({ runs, next }: { runs: RunRecord[]; next: string | null }) {
  if (runs.length === 0) {
    return (
      <>
        <h1>History</h1>
        <p class="panel">
          No research yet. <a href="/">Ask a question</a> and it will be listed here.
        </p>
      </>
    );
  }
  return (
    <>
      <h1>History</h1>
      <div class="table-wrap">
        <table class="history stack">
          <thead>
            <tr>
              <th scope="col">Question</th>
              <th scope="col">Status</th>
              <th scope="col">Model</th>
              <th scope="col">Date</th>
              <th scope="col">Duration</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => {
              const href = `/research/${encodeURIComponent(r.id)}`;
              return (
                <tr key={r.id} data-run={r.id}>
                  <td class="q">
                    <a href={href}>{short(r.query)}</a>
                    <span class="muted small">
                      {r.mode === "detailed" ? "Detailed report" : "Quick answer"}
                    </span>
                  </td>
                  <td data-label="Status">
                    <span class={`badge ${r.status}`}>{r.status}</span>
                  </td>
                  <td class="small" data-label="Model">
                    {r.metrics.model ?? r.settings.model ?? "—"}
                  </td>
                  <td class="small" data-label="Date">
                    <time dateTime={new Date(r.createdAt).toISOString()}>
                      {formatDate(r.createdAt)}
                    </time>
                  </td>
                  <td class="small duration" data-label="Duration">{formatDuration(r)}</td>
                  <td class="actions">
                    <a href={href}>Open</a>
                    <a href={`/api/research/${encodeURIComponent(r.id)}/export.md`}>Export</a>
                    <Island name="DeleteRun" props={{ id: r.id, label: short(r.query, 40) }} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Island
        name="HistoryLive"
        props={{
          active: runs.filter((r) => r.status === "queued" || r.status === "running").map((r) =>
            r.id
          ),
          limit: 100,
        }}
      />
      {next && (
        <p>
          <a href={`/history?cursor=${encodeURIComponent(next)}`}>Older runs →</a>
        </p>
      )}
    </>
  );
}
