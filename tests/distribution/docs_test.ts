/**
 * The configuration reference in README.md is generated from the code (scripts/gen_docs.ts), and
 * docs/lmstudio.md covers every error deepstudio can show. These tests fail when either drifts.
 */
import { join } from "node:path";
import { FLAGS } from "../../lib/config.ts";
import { ERROR_TITLES } from "../../lib/providers/errors.ts";
import { envName, SETTING_KEYS } from "../../lib/settings/schema.ts";
import { blockContent, BLOCKS, renderBlocks, tableCells } from "../../scripts/gen_docs.ts";
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "../assert.ts";
import { ROOT } from "./process.ts";

const readme = await Deno.readTextFile(join(ROOT, "README.md"));
const lmstudio = await Deno.readTextFile(join(ROOT, "docs/lmstudio.md"));

Deno.test("README's generated tables match the code (run `deno task docs` when this fails)", () => {
  for (const [name, render] of Object.entries(BLOCKS)) {
    const content = blockContent(readme, name);
    assert(content !== null, `README.md lacks the generated:${name} markers`);
    assertEquals(
      tableCells(content),
      tableCells(render()),
      `README.md's ${name} table is stale: run \`deno task docs\``,
    );
  }
});

Deno.test("the settings table has one row per setting, with its env var, in schema order", () => {
  const rows = tableCells(blockContent(readme, "settings")!).slice(1);
  assertEquals(rows.map((r) => r[0]), SETTING_KEYS.map((k) => `\`${k}\``));
  assertEquals(rows.map((r) => r[1]), SETTING_KEYS.map((k) => `\`${envName(k)}\``));
  const flags = tableCells(blockContent(readme, "flags")!).slice(1);
  assertEquals(flags.map((r) => r[1]), FLAGS.map((f) => `\`${f.env}\``));
});

Deno.test("a changed schema makes the README table stale, and deno task docs repairs it", () => {
  const stale = readme.replace("| `llm.temperature`", "| `llm.temperatures`");
  assertNotEquals(stale, readme);
  assertNotEquals(tableCells(blockContent(stale, "settings")!), tableCells(BLOCKS.settings()));
  const repaired = renderBlocks(stale);
  assertEquals(tableCells(blockContent(repaired, "settings")!), tableCells(BLOCKS.settings()));
  assertEquals(renderBlocks(repaired), repaired, "rendering is idempotent");
});

Deno.test("docs/lmstudio.md has a section for every error title with its fix", () => {
  const headings = [...lmstudio.matchAll(/^### (.+)$/gm)].map((m) => m[1].trim());
  for (const title of Object.values(ERROR_TITLES)) {
    assert(headings.includes(title), `docs/lmstudio.md has no "### ${title}" section`);
    const section = lmstudio.slice(lmstudio.indexOf(`### ${title}`)).split(/\n##+ /)[0];
    if (title !== ERROR_TITLES.cancelled) assertStringIncludes(section, "**Fix:**");
  }
});

Deno.test("docs/lmstudio.md covers setup, the network switch, tokens, context and Docker per OS", () => {
  for (
    const needle of [
      "## Set up in 4 steps",
      "Serve on Local Network",
      "Developer → Server Settings → Manage Tokens",
      "`llm.lmstudio.api_key`",
      "`LDR_LLM_LMSTUDIO_API_KEY`",
      "80 %",
      "--context-length",
      "loaded",
      "host.docker.internal:host-gateway",
      "| Mac",
      "| Windows",
      "| Linux",
    ]
  ) assertStringIncludes(lmstudio, needle);
});
