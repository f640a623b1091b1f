/**
 * Question drafts kept per browser tab (sessionStorage), so a half-typed question survives
 * navigating to Settings and back, and "Edit and run again" can hand a question to the Research
 * page. Storage may be unavailable (privacy modes): then drafts simply are not kept.
 */

/** A draft: the question text and the mode it was meant for. */
export interface Draft {
  query: string;
  mode: string;
}

const PREFIX = "deepstudio.draft.";

/** The draft stored under `slot` ("research", or "followup:<run id>"), or null. */
export function readDraft(slot: string): Draft | null {
  try {
    const raw = sessionStorage.getItem(PREFIX + slot);
    if (!raw) return null;
    const d = JSON.parse(raw);
    return typeof d?.query === "string"
      ? { query: d.query, mode: String(d.mode ?? "quick") }
      : null;
  } catch {
    return null;
  }
}

/** Stores (or, for an empty question, removes) the draft under `slot`. */
export function writeDraft(slot: string, draft: Draft): void {
  try {
    if (draft.query.trim() === "") sessionStorage.removeItem(PREFIX + slot);
    else sessionStorage.setItem(PREFIX + slot, JSON.stringify(draft));
  } catch { /* storage unavailable: nothing kept */ }
}

/** Forgets the draft under `slot` (after it was submitted). */
export function clearDraft(slot: string): void {
  try {
    sessionStorage.removeItem(PREFIX + slot);
  } catch { /* storage unavailable */ }
}
