/**
 * What the run view says about progress, as pure functions: steps' real end states, sub-question
 * labels that do not repeat the whole question, quick-answer progress that follows the tokens
 * produced against the answer budget, and the "no output for N s" note of a stalled stream.
 */

/** A step as the run view lists it. */
export interface ViewStep {
  key: string;
  label: string;
  state: "pending" | "running" | "done" | "failed" | "stopped" | "skipped";
}

/** A pipeline step as the server reports it (`step` events; the record's `pipeline` at load). */
export interface PipeStep {
  name: string;
  label: string;
  state: ViewStep["state"];
}

/** Where the sub-question loop is: the planned questions, the one being answered, failures. */
export interface SubProgress {
  questions: string[];
  current: number;
  failed: number[];
}

/**
 * The run view's step list: the server's pipeline steps in their reported states, the research
 * step shown as its sub-questions once the plan is known (their states follow the step's: the
 * ones before the current are done; after a stop the current is stopped and the rest skipped).
 */
export function viewSteps(pipe: PipeStep[], sub: SubProgress, query: string): ViewStep[] {
  return pipe.flatMap((p): ViewStep[] => {
    if (p.name !== "research" || !sub.questions.length) {
      return [{ key: p.name, label: p.label, state: p.state }];
    }
    return sub.questions.map((q, i): ViewStep => {
      const n = i + 1;
      const state: ViewStep["state"] = sub.failed.includes(n)
        ? "failed"
        : p.state === "done" || p.state === "pending" || p.state === "skipped"
        ? p.state
        : n < sub.current
        ? "done"
        : n === sub.current
        ? p.state
        : p.state === "running"
        ? "pending"
        : "skipped";
      return { key: `q${n}`, label: stepLabel(n, q, query), state };
    });
  });
}

/** "Step 2 of 3: Answer the sub-questions (2 of 3)" for the step running now, or "". */
export function currentStep(pipe: PipeStep[], sub: SubProgress): string {
  const i = pipe.findIndex((p) => p.state === "running");
  if (i < 0 || pipe.length < 2) return "";
  const p = pipe[i];
  const part = p.name === "research" && sub.current > 0 && sub.questions.length
    ? ` (sub-question ${sub.current} of ${sub.questions.length})`
    : "";
  return `Step ${i + 1} of ${pipe.length}: ${p.label}${part}`;
}

/** A token count as people read it: "1 240" (narrow no-break space between thousands). */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}

/**
 * The steps once the run has ended: all done when it completed; otherwise the step that was
 * going is stopped (or failed, when the run failed) and the ones never reached are skipped.
 */
export function settleSteps(steps: ViewStep[], status: string): ViewStep[] {
  if (status === "completed") return steps.map((s) => ({ ...s, state: "done" }));
  const end = status === "failed" ? "failed" : "stopped";
  return steps.map((s) =>
    s.state === "running"
      ? { ...s, state: end }
      : s.state === "pending"
      ? { ...s, state: "skipped" }
      : s
  );
}

/** A sub-question's label: the question itself is already the page's heading, so not again. */
export function stepLabel(n: number, subQuestion: string, query: string): string {
  const q = query.trim();
  const text = q.length > 12 && subQuestion.includes(q)
    ? subQuestion.replace(q, "the question").replace(/:\s*the question\??$/, "")
    : subQuestion;
  return `${n}. ${text}`;
}

/** Where a quick answer is: 5 % once asked, then the tokens so far against the answer budget. */
export function answerPercent(tokens: number, budget: number): number {
  if (!(budget > 0)) return 5;
  return Math.round(5 + 90 * Math.min(1, tokens / budget));
}

/** Silence this long after output started counts as a stall worth saying so. */
export const STALL_MS = 15_000;

/**
 * "No output for N s" once a started stream has been silent for `STALL_MS`, with the limit
 * after which deepstudio gives up (the request timeout), or "" while it is flowing.
 */
export function stallNote(silentMs: number, limitSeconds: number | null): string {
  if (silentMs < STALL_MS) return "";
  const s = Math.floor(silentMs / 1000);
  return `No output for ${s} s${
    limitSeconds ? ` (deepstudio gives up after ${limitSeconds} s of silence)` : ""
  } — the model may be stuck; Stop and Retry if it stays quiet.`;
}
