import { assertEquals } from "../assert.ts";
import { selectPassages } from "../../lib/sources/select.ts";
import type { Passage } from "../../lib/sources/types.ts";

const passages: Passage[] = [
  { id: "0:0", source: 0, ord: 0, text: "alpha words here" },
  { id: "1:0", source: 1, ord: 0, text: "beta words there" },
  { id: "2:0", source: 2, ord: 0, text: "gamma words everywhere" },
];

/** A toy embedding: one axis per Greek letter named in the text. */
function toyEmbed(texts: string[]): Promise<number[][]> {
  return Promise.resolve(
    texts.map((t) => ["alpha", "beta", "gamma"].map((w) => t.includes(w) ? 1 : 0)),
  );
}

Deno.test("selectPassages: embeddings rank by meaning, vectors computed once per passage", async () => {
  const calls: string[][] = [];
  const embed = (texts: string[]) => {
    calls.push(texts);
    return toyEmbed(texts);
  };
  const cache = new Map<string, number[]>();
  // The question shares no keyword with the best passage's text, only its "meaning" axis.
  const a = await selectPassages("tell me about gamma", passages, {
    budgetTokens: 1000,
    embed,
    cache,
  });
  assertEquals(a.method, "embedding");
  assertEquals(a.chosen[0].id, "2:0");
  const b = await selectPassages("and beta?", passages, { budgetTokens: 1000, embed, cache });
  assertEquals(b.chosen[0].id, "1:0");
  assertEquals(calls.map((c) => c.length), [4, 1], "the second question embeds only itself");
});

Deno.test("selectPassages: a failing embedding server falls back to keywords, with the reason", async () => {
  const sel = await selectPassages("beta", passages, {
    budgetTokens: 1000,
    embed: () => Promise.reject(new Error("no embedding model loaded")),
  });
  assertEquals(sel.method, "keyword");
  assertEquals(sel.embedError, "no embedding model loaded");
  assertEquals(sel.chosen.map((p) => p.id), ["1:0"]);
});
