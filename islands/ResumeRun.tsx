/**
 * "Continue where it stopped" for a failed, interrupted or cancelled run: asks the server to resume
 * it at the step it stopped in (`POST /api/research/{id}/resume`; finished steps are reused, the
 * stopped step re-runs), then follows the same run again from its kept events.
 */
import { useState } from "preact/hooks";
import { api } from "./api.ts";

/** Statuses a run can be resumed from (the server's list in lib/research/resume.ts). */
export const RESUMABLE_STATUSES = ["failed", "interrupted", "cancelled"];

/** The button; renders nothing for a run that cannot be resumed. */
export function ResumeRun(props: { id: string; status: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  if (!RESUMABLE_STATUSES.includes(props.status)) return null;

  async function resume() {
    setBusy(true);
    setError("");
    const res = await api("POST", `/api/research/${encodeURIComponent(props.id)}/resume`, {});
    if (!res.ok) {
      setError(res.error.message);
      setBusy(false);
      return;
    }
    // The run continues under the same id: the page follows it from its kept events.
    location.reload();
  }

  return (
    <p class="row resume-run">
      <button type="button" class="secondary" onClick={resume} disabled={busy}>
        {busy ? "Continuing…" : "Continue where it stopped"}
      </button>
      {error && <span class="notice bad">{error}</span>}
    </p>
  );
}
