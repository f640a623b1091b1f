/** Chunking: token budget, overlap, structure boundaries, exact character ranges. */
import { assert, assertEquals } from "../assert.ts";
import { chunkBlocks, documentText, estimateTokens } from "../../lib/library/chunk.ts";
import type { Block } from "../../lib/extract/types.ts";

const sentence = (i: number) => `Sentence number ${i} carries a few ordinary words here.`;

Deno.test("chunks respect the token budget, overlap, and point at their exact text", () => {
  const blocks: Block[] = [{
    text: Array.from({ length: 60 }, (_, i) => sentence(i)).join(" "),
    page: null,
    headingPath: [],
  }];
  const text = documentText(blocks);
  const chunks = chunkBlocks(blocks, { maxTokens: 60, overlapTokens: 16 });
  assert(chunks.length > 5);
  for (const c of chunks) {
    assert(c.tokens <= 60, `chunk ${c.ord} has ${c.tokens} tokens`);
    assertEquals(text.slice(c.start, c.end), c.text);
    assertEquals(estimateTokens(c.text) <= 60, true);
  }
  // Consecutive chunks overlap, and together they cover every sentence.
  for (let i = 1; i < chunks.length; i++) assert(chunks[i].start < chunks[i - 1].end);
  for (let i = 0; i < 60; i++) {
    assert(chunks.some((c) => c.text.includes(sentence(i))), `sentence ${i}`);
  }
  assertEquals(chunks.map((c) => c.ord), chunks.map((_, i) => i));
});

Deno.test("chunks never cross a page or a heading and carry their location", () => {
  const blocks: Block[] = [
    { text: "Intro", page: null, headingPath: ["Intro"], heading: true },
    { text: "Welcome to the guide.", page: null, headingPath: ["Intro"] },
    { text: "Setup", page: null, headingPath: ["Intro", "Setup"], heading: true },
    { text: "Install it first.", page: null, headingPath: ["Intro", "Setup"] },
  ];
  const chunks = chunkBlocks(blocks);
  assertEquals(chunks.map((c) => [c.heading, c.text]), [
    ["Intro", "Intro\n\nWelcome to the guide."],
    ["Intro > Setup", "Setup\n\nInstall it first."],
  ]);
  const pdf: Block[] = [
    { text: "page one text.", page: 1, headingPath: [] },
    { text: "page two text.", page: 2, headingPath: [] },
  ];
  const pc = chunkBlocks(pdf);
  assertEquals(pc.map((c) => [c.page, c.text, c.heading]), [[1, "page one text.", null], [
    2,
    "page two text.",
    null,
  ]]);
  assertEquals(documentText(pdf).slice(pc[1].start, pc[1].end), "page two text.");
});

Deno.test("a sentence longer than the budget is cut at words", () => {
  const long = Array.from({ length: 500 }, (_, i) => `w${i}`).join(" ");
  const chunks = chunkBlocks([{ text: long, page: 4, headingPath: [] }], {
    maxTokens: 50,
    overlapTokens: 0,
  });
  assert(chunks.length >= 10);
  for (const c of chunks) assert(c.tokens <= 50 && c.page === 4);
  assertEquals(chunks.map((c) => c.text).join(" ").split(" ").length, 500);
});

Deno.test("estimateTokens: the ASCII scan counts word runs and symbols as the Unicode rule does", () => {
  const reference = (t: string) =>
    Math.max(Math.ceil(t.length / 4), t.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0);
  const alphabet = ["a", "Z", "7", " ", ".", ",", "\t", "\n", "\r", "\v", "\f", "_", "-", "~", "é"];
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let dense = 0;
  for (let n = 0; n < 2000; n++) {
    const ascii = n % 2 === 0;
    const text = Array.from(
      { length: 1 + Math.floor(rand() * 40) },
      () => alphabet[Math.floor(rand() * (alphabet.length - (ascii ? 1 : 0)))],
    ).join("");
    const want = reference(text);
    if (want > Math.ceil(text.length / 4)) dense++;
    assertEquals(estimateTokens(text), want, JSON.stringify(text));
  }
  assertEquals(dense > 500, true); // most cases are decided by the piece count, not the length
});
