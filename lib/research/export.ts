/**
 * A run as a Markdown document people can keep: the question, the settings used, the model that
 * actually answered, timings and usage, then the report itself.
 */
import type { RunRecord } from "./schema.ts";

function iso(ms: number | null): string {
  return ms === null ? "—" : new Date(ms).toISOString().replace(".000Z", "Z");
}

function seconds(from: number | null, to: number | null): string {
  return from === null || to === null ? "—" : `${((to - from) / 1000).toFixed(1)} s`;
}

/** Escapes a value for a Markdown table cell. */
function cell(v: unknown): string {
  return String(v ?? "—").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** The engines a run searched, or "none (model knowledge only)". */
function sourcesLabel(run: RunRecord): string {
  const engines = run.sources?.engines.filter((e) => e !== "none") ?? [];
  if (!engines.length) return "none (model knowledge only)";
  return run.noSources
    ? `${engines.join(", ")}: no sources (${run.noSources}; model knowledge only)`
    : engines.join(", ");
}

/** The file name offered for download. */
export function exportFileName(run: RunRecord): string {
  const slug = run.query.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
    .slice(0, 60) || "research";
  return `${slug}-${run.id}.md`;
}

/** The Markdown export of a run and its text. */
export function exportMarkdown(run: RunRecord, text: string): string {
  const s = run.settings;
  const m = run.metrics;
  const title = run.query.split(/\r?\n/)[0].slice(0, 120);
  const rows: [string, unknown][] = [
    ["Status", run.status],
    ["Mode", run.mode],
    ["Provider", `${s.providerName} (${s.baseUrl})`],
    ["Model requested", `${s.model}${s.modelChosen ? "" : " (the loaded model)"}`],
    ["Model that answered", m.model ?? "—"],
    ["Temperature", s.temperature],
    ["Max tokens", s.maxTokens],
    [
      "Context window",
      `${s.contextWindow} tokens (${
        s.contextSource === "server" ? "reported by the server" : "from settings"
      })`,
    ],
    ["Created", iso(run.createdAt)],
    ["Started", iso(run.startedAt)],
    ["Finished", iso(run.finishedAt)],
    ["Duration", seconds(run.startedAt, run.finishedAt)],
    ["Time to first token", m.ttftMs === null ? "—" : `${Math.round(m.ttftMs)} ms`],
    ["Speed", m.tokensPerSecond === null ? "—" : `${m.tokensPerSecond} tokens/s`],
    [
      "Tokens",
      m.usage
        ? `${m.usage.promptTokens} prompt + ${m.usage.completionTokens} completion = ${m.usage.totalTokens}`
        : "—",
    ],
    ["LLM calls", m.steps],
    ["Sources", sourcesLabel(run)],
  ];
  const lines = [
    `# ${title}`,
    "",
    "## Question",
    "",
    ...run.query.split(/\r?\n/).map((l) => `> ${l}`),
    "",
    "## Settings and timings",
    "",
    "| | |",
    "|---|---|",
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    "",
  ];
  if (run.steps.length) {
    lines.push("## Sub-questions", "");
    for (const step of run.steps) {
      lines.push(
        `${step.index}. ${step.question}${step.status === "done" ? "" : ` _(${step.status})_`}`,
      );
    }
    lines.push("");
  }
  // A detailed report's text is labelled already (report, then research notes).
  const body = text.trim();
  if (!body.startsWith("## Report\n")) lines.push("## Report", "");
  lines.push(body || "_No text was produced._", "");
  lines.push("---", "", `_Exported from deepstudio, run \`${run.id}\`._`, "");
  return lines.join("\n");
}
