import { assertEquals } from "../assert.ts";
import { sourcesMarkdown } from "../../lib/sources/report.ts";
import type { Source } from "../../lib/sources/types.ts";

const src = (index: number, extra: Partial<Source> = {}): Source => ({
  index,
  title: `Title ${index}`,
  url: `https://example.org/${index}`,
  location: null,
  engine: "searxng",
  query: "q",
  snippet: "",
  state: "read",
  ...extra,
});

Deno.test("sourcesMarkdown: cited sources once in citation order, then Also consulted", () => {
  const sources = [
    src(0),
    src(1, {
      url: null,
      engine: "library",
      title: "Handbook",
      location: {
        collection: "c",
        collectionName: "Manuals",
        document: "d",
        documentTitle: "Handbook.pdf",
        page: 4,
        heading: "Setup",
      },
    }),
    src(2, { title: "A *bold* [title]" }),
  ];
  const md = sourcesMarkdown([
    { n: 2, source: 0, passages: ["0:0"] },
    { n: 1, source: 1, passages: ["1:0"] },
  ], sources);
  assertEquals(
    md,
    [
      "## Sources",
      "",
      "[1] Handbook — Handbook.pdf, p. 4, § Setup (Manuals) (Library)  ",
      "[2] Title 0 — <https://example.org/0> (web)  ",
      "",
      "## Also consulted",
      "",
      "- A \\*bold\\* \\[title\\] — <https://example.org/2> (web)",
    ].join("\n"),
  );
  assertEquals(sourcesMarkdown([], []), "");
});
