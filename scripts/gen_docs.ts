/**
 * `deno task docs`: rewrites the generated parts of README.md from the code, so the configuration
 * reference can't drift from it: the settings table (lib/settings/schema.ts), the flags table and
 * the per-OS data directory (lib/config.ts). Each part sits between
 * `<!-- generated:NAME:start -->` and `<!-- generated:NAME:end -->`; tests/distribution/docs_test.ts
 * fails when README.md no longer matches, and says to run `deno task docs`.
 */
import { defaultDataDir, FLAGS } from "../lib/config.ts";
import { envName, SETTING_KEYS, SETTINGS } from "../lib/settings/schema.ts";

const README = new URL("../README.md", import.meta.url);

function code(s: string): string {
  return `\`${s}\``;
}

function cell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A Markdown table with padded columns (the layout `deno fmt` gives it). */
export function markdownTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => [...r[i]].length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join(" | ")} |`;
  return [
    line(all[0]),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...all.slice(1).map(line),
  ]
    .join("\n");
}

function formatDefault(value: unknown): string {
  if (value === null) return "unset";
  if (value === "") return "empty";
  return code(String(value));
}

function formatNumber(n: number): string {
  return Number.isInteger(n) && n >= 10_000
    ? n.toLocaleString("en-US").replaceAll(",", " ")
    : String(n);
}

function formatRange(key: (typeof SETTING_KEYS)[number]): string {
  const s = SETTINGS[key] as (typeof SETTINGS)[typeof key] & {
    min?: number;
    max?: number;
    options?: readonly { value: string }[];
    secret?: boolean;
  };
  if (s.options) return s.options.map((o) => code(o.value)).join(", ");
  if (s.min !== undefined && s.max !== undefined) {
    const kind = s.step ? "number" : "whole number";
    const base = `${kind}, ${formatNumber(s.min)} to ${formatNumber(s.max)}`;
    return s.default === null ? `${base}, or unset` : base;
  }
  if (s.ui === "checkbox") return "`true` / `false`";
  if (s.ui === "url") return s.default === "" ? "http(s) URL, or empty" : "http(s) URL";
  if (s.secret) return "secret: stored, never shown again";
  return "text";
}

/** The settings reference: one row per key of `SETTINGS`, in declaration order. */
export function settingsTable(): string {
  return markdownTable(
    ["key", "env var", "default", "range / choices", "description"],
    SETTING_KEYS.map((key) => [
      code(key),
      code(envName(key)),
      formatDefault(SETTINGS[key].default),
      formatRange(key),
      SETTINGS[key].description,
    ]),
  );
}

/** The process flags with their env names (`--help` prints the same list). */
export function flagsTable(): string {
  return markdownTable(
    ["flag", "env var", "default", "what it does"],
    FLAGS.map((f) => [
      code(`${f.flag} ${f.arg}`),
      code(f.env),
      f.def ? code(f.def) : "none",
      f.help,
    ]),
  );
}

/** Where the KV file lives by default, per OS, from the same function the program uses. */
export function dataDirTable(): string {
  const env = { HOME: "~", USERPROFILE: "~", APPDATA: "%APPDATA%", XDG_DATA_HOME: "" };
  const rows = [
    ["Linux", defaultDataDir(env, "linux")],
    ["macOS", defaultDataDir(env, "darwin")],
    ["Windows", defaultDataDir(env, "windows").replaceAll("/", "\\")],
  ];
  return markdownTable(
    ["OS", "default KV file"],
    rows.map(([os, dir]) => [
      os,
      code(`${dir}${os === "Windows" ? "\\" : "/"}deepstudio.kv`) +
      (os === "Linux" ? " (or `$XDG_DATA_HOME/deepstudio/deepstudio.kv`)" : ""),
    ]),
  );
}

/** The generated parts of README.md by marker name. */
export const BLOCKS: Record<string, () => string> = {
  settings: settingsTable,
  flags: flagsTable,
  "data-dir": dataDirTable,
};

/** The start and end markers of one block. */
export function markers(name: string): [string, string] {
  return [`<!-- generated:${name}:start -->`, `<!-- generated:${name}:end -->`];
}

/** The text between a block's markers, or null when the markers are missing. */
export function blockContent(text: string, name: string): string | null {
  const [start, end] = markers(name);
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return null;
  return text.slice(i + start.length, j).trim();
}

/** `text` with every block replaced by its generated content; throws naming a missing marker. */
export function renderBlocks(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(BLOCKS)) {
    const [start, end] = markers(name);
    const i = out.indexOf(start);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`README.md has no ${start} … ${end} pair`);
    out = `${out.slice(0, i + start.length)}\n\n${render()}\n\n${out.slice(j)}`;
  }
  return out;
}

/** A Markdown table's cells, trimmed, separator row dropped: layout-independent comparison. */
export function tableCells(markdown: string): string[][] {
  return markdown.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("|")).map((l) =>
    l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim())
  ).filter((row) => !row.every((c) => /^:?-+:?$/.test(c)));
}

if (import.meta.main) {
  const before = await Deno.readTextFile(README);
  const after = renderBlocks(before);
  await Deno.writeTextFile(README, after);
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", README.pathname],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (fmt.code !== 0) Deno.exit(fmt.code);
  const final = await Deno.readTextFile(README);
  console.log(final === before ? "README.md already up to date" : "README.md updated");
}
