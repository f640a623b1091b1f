/**
 * What start-up loads. Idle memory is mostly parsed modules, so the large packages a request path
 * needs only sometimes are imported with `import()` on first need, and no `node:` built-in is
 * imported at all on the way (the first one starts Deno's Node compatibility layer, ~7-10 MB of
 * resident memory; docs/benchmarks.md measures the idle RSS). This reads the program's module
 * graph (`deno info --json main.ts`) and follows only static imports from main.ts.
 */
import { assert, assertEquals } from "../assert.ts";

/** Loaded on first need, never at start-up (package name → where it is needed). */
const DEFERRED: Record<string, string> = {
  openai: "completions (lib/providers/sdk.ts)",
  // Web pages and Library documents: ~30 MB resident once imported.
  linkedom: "reading a web page (lib/sources/read.ts → lib/extract/html.ts)",
  "@mozilla/readability": "reading a web page (lib/sources/read.ts → lib/extract/html.ts)",
  unpdf: "a PDF (lib/extract/pdf.ts)",
  jszip: "a .docx (lib/extract/docx.ts)",
  docx: "the tests' .docx fixtures only",
  // Server-side rendering: the pages, the sign-in page and the HTML 404 (routes/lazy.ts).
  preact: "the HTML pages (routes/lazy.ts → routes/pages.tsx)",
  "preact-render-to-string": "the HTML pages (routes/lazy.ts → routes/pages.tsx)",
  "pdf-lib": "the tests' PDF fixtures only",
};

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

async function staticClosure(root: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  return seen;
}

Deno.test("start-up imports none of the packages loaded on first need", async () => {
  const closure = await staticClosure("main.ts");
  assert(closure.size > 20, "the graph was read");
  const packageOf = (s: string) => /^npm:\/?((?:@[^/@]+\/)?[^/@]+)/.exec(s)?.[1];
  const found = [...closure].map(packageOf).filter((p): p is string => !!p && p in DEFERRED);
  assertEquals([...new Set(found)], [], "statically imported from main.ts");
});

/** deepstudio's own modules loaded on first request (routes/lazy.ts), not at start-up. */
const DEFERRED_FILES = [
  // The research API and everything behind it (service, pipeline, sources, search engines):
  // loaded by its first request, or at start-up only when a run is unfinished
  // (routes/resume_at_start.ts; tests/faults/kill_test.ts proves the recovery).
  "routes/research.ts",
  "routes/sources.ts",
  "routes/preflight.ts",
  "routes/search.ts",
  "lib/research/service.ts",
  "lib/research/pipeline.ts",
  "lib/research/legacy.ts", // migration 2, imported when it runs
  "lib/search/engines.ts",
  "lib/sources/read.ts",
  // The Library, provider and model-load APIs: their first request.
  "routes/library.ts",
  "routes/providers.ts",
  "routes/models.ts",
  "lib/library/schema.ts",
  "lib/providers/model_admin.ts",
  // The built islands and the stylesheet, as text: the first page or /static request.
  "lib/assets.ts",
  // The OpenAPI document and the request schemas only it reads: its first request.
  "lib/openapi.ts",
  "lib/settings/zod_type.ts",
  "lib/research/schema.ts",
  "routes/pages.tsx",
  "routes/library_pages.tsx",
  "routes/auth.tsx",
  "islands/RunView.tsx",
  "islands/ResearchForm.tsx",
  "islands/LibraryCollection.tsx",
];

Deno.test("start-up imports none of the modules loaded on first request (pages, research, OpenAPI)", async () => {
  const closure = await staticClosure("main.ts");
  const root = new URL("../../", import.meta.url).href;
  assertEquals(DEFERRED_FILES.filter((f) => closure.has(root + f)), []);
  assert(closure.has(root + "routes/gateway.ts"), "the graph holds the API's modules");
});

Deno.test("start-up imports no node: built-in (Deno's Node compatibility layer stays unloaded)", async () => {
  const closure = await staticClosure("main.ts");
  assertEquals([...closure].filter((s) => s.startsWith("node:")), []);
});

Deno.test("start-up loads no zod: settings validate with plain code (lib/settings/check.ts)", async () => {
  // zod/mini and the settings schemas built from it were ~8 MB resident and ~45 ms of start-up
  // (docs/decisions/memory-targets.md, "Start-up without zod"); classic zod, which the lazily
  // loaded routes validate with, is heavier still. lib/settings/zod_type.ts builds the settings'
  // zod schemas for the OpenAPI document only.
  const closure = [...await staticClosure("main.ts")];
  assertEquals(closure.filter((s) => /^npm:\/?zod@/.test(s)), []);
  const root = new URL("../../", import.meta.url).href;
  assert(
    closure.includes(root + "lib/settings/check.ts"),
    "the settings validator is in the graph",
  );
  assert(!closure.includes(root + "lib/settings/zod_type.ts"));
});

Deno.test("start-up loads hono's TrieRouter, not its default Hono (SmartRouter, RegExpRouter)", async () => {
  // The SmartRouter ends on the TrieRouter for deepstudio's routes after building a RegExpRouter
  // at the first request; routes/hono.ts uses the TrieRouter directly.
  const closure = [...await staticClosure("main.ts")];
  assert(closure.some((s) => /^npm:\/?hono@[^/]+\/router\/trie-router$/.test(s)), "TrieRouter");
  assertEquals(
    closure.filter((s) => /^npm:\/?hono@[^/]+(\/router\/(smart|reg-exp)-router)?$/.test(s)),
    [],
  );
});
