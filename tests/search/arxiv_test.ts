/**
 * The arXiv engine against a fake query API answering the Atom feed of arXiv's manual
 * (tests/fakes/arxiv.ts, docs/arxiv.md): papers as abstract-page hits with authors and abstracts,
 * the error feed and 503 as typed failures, and a sourced run that reads the abstract pages and
 * cites them.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { SearchError } from "../../lib/search/errors.ts";
import { arxivEngine } from "../../lib/search/arxiv.ts";
import { startFakeArxiv } from "../fakes/arxiv.ts";
import { harness } from "../research/support.ts";
import { sourcedRun } from "./support.ts";

const PAPERS = [
  {
    id: "2401.00001",
    title: "Long context & retrieval for small models",
    authors: ["A. Author", "B. Author", "C. Author", "D. Author"],
    summary: "We show that retrieval lets a 7B model answer with sources.\n  It cites them.",
  },
  {
    id: "2401.00002",
    title: "Quantised attention",
    authors: ["E. Author"],
    summary: "Attention kernels in four bits.",
  },
];

Deno.test("arxiv engine: the Atom feed → abstract pages, titles with authors, abstracts", async () => {
  const ax = startFakeArxiv(PAPERS);
  try {
    const r = await arxivEngine({ url: ax.url, timeoutMs: 5000 }).search("retrieval", { limit: 5 });
    assertEquals(r.hits.map((h) => h.url), [
      `${ax.url}/abs/2401.00001`,
      `${ax.url}/abs/2401.00002`,
    ]);
    assertEquals(
      r.hits[0].title,
      "Long context & retrieval for small models (A. Author, B. Author, C. Author et al.)",
    );
    assertEquals(
      r.hits[0].snippet,
      "We show that retrieval lets a 7B model answer with sources. It cites them.",
    );
    assertEquals(r.hits[1].title, "Quantised attention (E. Author)");
    assertEquals(ax.requests[0].searchParams.get("search_query"), "all:retrieval");
    assertEquals(ax.requests[0].searchParams.get("max_results"), "5");
  } finally {
    await ax.close();
  }
});

Deno.test("arxiv engine: the error feed and a 503 are typed failures with hints", async () => {
  const ax = startFakeArxiv(PAPERS);
  try {
    const e = arxivEngine({ url: ax.url, timeoutMs: 5000 });
    ax.mode = "error";
    const err = await assertRejects(() => e.search("x", { limit: 3 }), SearchError);
    assertStringIncludes(err.message, "incorrect id format for 1234");
    ax.mode = "limited";
    const lim = await assertRejects(() => e.search("x", { limit: 3 }), SearchError) as SearchError;
    assertEquals(lim.failure.kind, "rate_limit");
    assertStringIncludes(lim.failure.hint, "wait");
    assertEquals((await e.status()).state, "not_checked");
  } finally {
    await ax.close();
  }
});

Deno.test("a sourced run on arXiv reads the abstract pages and every citation resolves", async () => {
  const ax = startFakeArxiv(PAPERS);
  const h = await harness({
    fake: { reply: "Retrieval helps small models [1]. Invented [5]." },
    env: { LDR_SEARCH_ARXIV_URL: ax.url, LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" },
  });
  try {
    const { run, body } = await sourcedRun(
      h,
      "Does retrieval help small models answer with sources?",
      "arxiv",
    );
    assert(body.sources.every((s) => s.engine === "arxiv" && s.state === "read"));
    assertEquals(body.citations.removed, 1);
    const cited = body.citations.citations[0];
    assertStringIncludes(body.passages[cited.passages[0]], "retrieval lets a 7B model");
    assertStringIncludes(run.text, "(arXiv)");
  } finally {
    await h.close();
    await ax.close();
  }
});
