/**
 * static/app.css is plain CSS where an unclosed rule silently nests everything after it (CSS
 * nesting): the Sources picker, the Library drop zone and the run states then style nothing.
 */
import { assert, assertEquals } from "../assert.ts";

Deno.test("static/app.css closes every rule: its page-level rules are top level", async () => {
  const css = (await Deno.readTextFile(new URL("../../static/app.css", import.meta.url)))
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  let depth = 0;
  const topLevel = new Set<string>();
  let selector = "";
  for (const ch of css) {
    if (ch === "{") {
      if (depth === 0) topLevel.add(selector.trim());
      depth++;
      selector = "";
    } else if (ch === "}") {
      depth--;
      assert(depth >= 0, "a `}` closes nothing");
      selector = "";
    } else if (ch === ";") selector = "";
    else selector += ch;
  }
  assertEquals(depth, 0, "a rule is left open");
  for (const s of [".source-picker", ".dropzone", ".plan-live", ".cite-popover .cite-passage"]) {
    assert(topLevel.has(s), `${s} is not a top-level rule`);
  }
});
