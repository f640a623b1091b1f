/**
 * The seed's fallback: a run whose LLM call fails still ends with something useful: the text
 * produced so far followed by a report that names the error kind, what happened and what to do.
 */
import type { UpstreamError } from "../providers/types.ts";

/** Markdown explaining a failure; appended to whatever text the run had produced. */
export function errorReport(
  error: UpstreamError,
  opts: { step?: string; hadText: boolean },
): string {
  const lines = [
    `## ⚠ ${error.title}${opts.step ? ` (${opts.step})` : ""}`,
    "",
    `- **Kind:** \`${error.kind}\``,
    `- **What happened:** ${error.message}`,
    `- **What to do:** ${error.hint || "Try again."}`,
  ];
  lines.push(
    opts.hadText
      ? "- The text above is what was produced before the failure; it may be incomplete."
      : "- Nothing was produced before the failure.",
  );
  return lines.join("\n");
}

/** A short note for a sub-question that failed in a run that carried on. */
export function stepFailureNote(error: UpstreamError): string {
  return `> ⚠ **${error.title}** (\`${error.kind}\`): ${error.message} ${error.hint}`.trimEnd();
}
