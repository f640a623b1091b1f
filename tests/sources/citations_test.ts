import { assertEquals } from "../assert.ts";
import { CitationBook, markersIn, stripThink } from "../../lib/sources/citations.ts";
import type { Passage } from "../../lib/sources/types.ts";

const p = (source: number, ord = 0): Passage => ({
  id: `${source}:${ord}`,
  source,
  ord,
  text: `passage ${source}:${ord}`,
});

Deno.test("stripThink: closed, unclosed and prompt-opened reasoning never reaches the text", () => {
  assertEquals(stripThink("<think>plan it\nstep</think>\n\nAnswer [1]."), "Answer [1].");
  assertEquals(stripThink("A <think>hidden</think>B <think>x</think>C"), "A B C");
  assertEquals(stripThink("Answer so far <think>still thinking"), "Answer so far ");
  assertEquals(stripThink("reasoning without an opening tag</think>The answer."), "The answer.");
  assertEquals(stripThink("No reasoning."), "No reasoning.");
});

Deno.test("CitationBook: prompt numbers become run numbers in first-citation order", () => {
  const book = new CitationBook();
  const prompt = [p(7), p(3), p(7, 1), p(9)];
  const r = book.resolve("Alpha [2]. Beta [1][3]. Gamma [2, 4] and [1-2].", prompt);
  // [2] → source 3 (first cited: 1); [1] and [3] → source 7 (2); [4] → source 9 (3).
  assertEquals(r.text, "Alpha [1]. Beta [2]. Gamma [1][3] and [2][1].");
  assertEquals(r.removed, 0);
  assertEquals(book.list().map((c) => [c.n, c.source, c.passages]), [
    [1, 3, ["3:0"]],
    [2, 7, ["7:0", "7:1"]],
    [3, 9, ["9:0"]],
  ]);
});

Deno.test("CitationBook: markers that point nowhere are removed and counted", () => {
  const book = new CitationBook();
  const r = book.resolve("Claim [1]. Bogus [5]. Zero [0]. Mixed [1, 9]. Link [1](http://x).", [
    p(2),
  ]);
  assertEquals(r.text, "Claim [1]. Bogus. Zero. Mixed [1]. Link [1](http://x).");
  assertEquals(r.removed, 3);
  assertEquals(book.removed, 3);
});

Deno.test("CitationBook: a second answer keeps the run's numbering (detailed mode)", () => {
  const book = new CitationBook();
  book.resolve("First [1] and [2].", [p(4), p(5)]);
  const second = book.resolve("Second [1] cites source 6, [2] source 4.", [p(6), p(4, 2)]);
  assertEquals(second.text, "Second [3] cites source 6, [1] source 4.");
  const synth = book.verify("Overall [1][3], nonsense [8], and [2].");
  assertEquals(synth.text, "Overall [1][3], nonsense, and [2].");
  assertEquals(synth.removed, 1);
  assertEquals(markersIn(synth.text), [1, 3, 2]);
  // Resumed from stored citations, numbering continues.
  const again = new CitationBook(book.list(), book.removed);
  assertEquals(again.resolve("New [1].", [p(11)]).text, "New [4].");
});

Deno.test("CitationBook: removing one of adjacent markers keeps the space before the rest", () => {
  const book = new CitationBook();
  book.resolve("x [1]", [p(1)]);
  assertEquals(book.verify("Other [2][1]. Only bogus [3][4].").text, "Other [1]. Only bogus.");
  assertEquals(book.resolve("A [1] [1].", [p(1)]).text, "A [1] [1].");
});
