import { assert, assertEquals } from "../assert.ts";
import { dedupe, fitBudget, keywordRank, tokenize, vectorRank } from "../../lib/sources/rank.ts";
import { cutPassages } from "../../lib/sources/passages.ts";
import type { Passage } from "../../lib/sources/types.ts";

const mk = (source: number, text: string, ord = 0): Passage => ({
  id: `${source}:${ord}`,
  source,
  ord,
  text,
});

Deno.test("keywordRank: passages about the question rank first", () => {
  const passages = [
    mk(0, "Bananas are yellow fruit grown in the tropics."),
    mk(1, "LM Studio loads a model with a context length; the loaded context limits prompts."),
    mk(2, "The context length of a loaded model in LM Studio can be changed when reloading."),
  ];
  const ranked = keywordRank(
    "How does LM Studio set the context length of a loaded model?",
    passages,
  );
  assertEquals(ranked.at(-1)?.passage.source, 0);
  assertEquals(ranked.at(-1)?.score, 0);
  assert(ranked[0].score > 0);
  assertEquals(tokenize("The Ärzte and 2 GPUs!"), ["ärzte", "gpus"]);
});

Deno.test("vectorRank: cosine similarity orders by meaning", () => {
  const passages = [mk(0, "a"), mk(1, "b"), mk(2, "c")];
  const ranked = vectorRank([1, 0], passages, [[0, 1], [1, 0.1], [-1, 0]]);
  assertEquals(ranked.map((r) => r.passage.source), [1, 0, 2]);
});

Deno.test("dedupe and fitBudget: duplicates dropped, per-source cap, budget, what was left out", () => {
  const long = "word ".repeat(400);
  const ranked = [
    {
      passage: mk(0, "Deno KV stores values up to sixty four kilobytes each in one key"),
      score: 5,
    },
    {
      passage: mk(1, "Deno KV stores values up to sixty four kilobytes each in one key."),
      score: 4,
    },
    { passage: mk(2, `Other facts ${long}`), score: 3 },
    { passage: mk(3, "Small relevant fact about KV keys", 0), score: 2 },
    { passage: mk(3, "Second small fact about KV", 1), score: 1.5 },
    { passage: mk(3, "Third small fact about KV values", 2), score: 1.2 },
    { passage: mk(3, "Fourth small fact about KV atomics", 3), score: 1.1 },
    { passage: mk(4, "Irrelevant"), score: 0 },
  ];
  assertEquals(dedupe(ranked).length, ranked.length - 1);
  const sel = fitBudget(ranked, { budgetTokens: 120, perSource: 3 });
  assertEquals(sel.chosen.map((p) => p.id), ["0:0", "3:0", "3:1", "3:2"]);
  assertEquals(sel.duplicates, 1);
  // The long passage did not fit and the fourth of source 3 hit the cap; the irrelevant one is
  // not offered at all.
  assertEquals(sel.leftOut, 2);
  assert(sel.tokens <= 120);
});

Deno.test("cutPassages: blocks packed to the target, long blocks split at sentences", () => {
  const text = ["Short one.", "Short two.", "x".repeat(50) + ". " + "y".repeat(2000)].join("\n\n");
  const parts = cutPassages(text, { target: 100, max: 300 });
  assertEquals(parts[0], "Short one.\n\nShort two.");
  assert(parts.every((p) => p.length <= 300), parts.map((p) => p.length).join(","));
  assertEquals(parts.join("").replace(/\s/g, "").length, text.replace(/\s/g, "").length);
  assertEquals(cutPassages(text, { target: 100, max: 300, limit: 2 }).length, 2);
});
