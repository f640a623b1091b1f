/**
 * What a person can do once a run has ended: Retry (the same question with the same settings),
 * Edit and run again (the Research page with the question prefilled), and Ask a follow-up (a new
 * run that carries this run's question and report as context). The follow-up draft is kept per
 * tab, like the Research page's question.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type ApiError } from "./api.ts";
import { clearDraft, readDraft, writeDraft } from "./draft.ts";

/** The request a retry repeats: the run's question, mode and frozen settings. */
export interface RetryRequest {
  query: string;
  mode: string;
  provider: string;
  model?: string;
  temperature: number;
  maxTokens: number;
  /** The run's engines, collections and limit (a retry searches the same way). */
  sources?: { engines: string[]; collections?: string[]; maxSources?: number };
}

/** Props: the ended run and whether to move focus here (after Stop). */
export interface RunActionsProps {
  id: string;
  status: string;
  request: RetryRequest;
  focus: boolean;
}

function open(id: string) {
  location.href = `/research/${encodeURIComponent(id)}`;
}

/** The actions bar under an ended run. */
export function RunActions({ id, status, request, focus }: RunActionsProps) {
  const slot = `followup:${id}`;
  const [followUp, setFollowUp] = useState("");
  const [busy, setBusy] = useState("");
  const [err, setErr] = useState<ApiError | null>(null);
  const retryRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const d = readDraft(slot);
    if (d) setFollowUp(d.query);
  }, [slot]);
  useEffect(() => {
    if (focus) retryRef.current?.focus();
  }, [focus]);

  async function start(kind: string, body: Record<string, unknown>) {
    setBusy(kind);
    setErr(null);
    const r = await api<{ id: string }>("POST", "/api/research", body);
    if (r.ok) {
      if (kind === "followup") clearDraft(slot);
      open(r.data.id);
      return;
    }
    const up = r.error.upstream as ApiError | undefined;
    setErr(up ?? r.error);
    setBusy("");
  }

  function edit() {
    writeDraft("research", { query: request.query, mode: request.mode });
    location.href = "/";
  }

  const ok = status === "completed";
  return (
    <section class="run-actions" aria-label="Next steps">
      <div class="row">
        <button
          type="button"
          class="retry"
          ref={retryRef}
          disabled={!!busy}
          onClick={() => start("retry", { ...request })}
        >
          {busy === "retry" ? "Starting…" : ok ? "Run again" : "Retry"}
        </button>
        <button type="button" class="secondary edit" disabled={!!busy} onClick={edit}>
          Edit and run again
        </button>
      </div>
      <form
        class="follow-up"
        onSubmit={(e) => {
          e.preventDefault();
          if (!followUp.trim() || busy) return;
          start("followup", { ...request, query: followUp, followUp: id });
        }}
      >
        <label for="follow-up">Ask a follow-up</label>
        <textarea
          id="follow-up"
          rows={2}
          value={followUp}
          placeholder="A further question; this answer is given to the model as context"
          onInput={(e) => {
            setFollowUp(e.currentTarget.value);
            writeDraft(slot, { query: e.currentTarget.value, mode: request.mode });
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <button type="submit" class="secondary" disabled={!!busy || !followUp.trim()}>
          {busy === "followup" ? "Starting…" : "Ask"}
        </button>
      </form>
      {err && (
        <p class="notice bad" role="alert">
          {err.title && <strong>{err.title}:</strong>} {err.message} {err.hint}
        </p>
      )}
    </section>
  );
}
