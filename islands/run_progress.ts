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
