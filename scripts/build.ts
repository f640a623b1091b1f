/**
 * Bundles the browser code with `deno bundle --platform browser`. Outputs go to static/build/,
 * which lib/assets.ts imports as text: the server, `deno compile` and a `deno bundle` of main.ts
 * then all carry the same bytes, and nothing is read from the working directory at run time.
 */
const root = new URL("../", import.meta.url);

/** Browser entry points: output name → source. */
export const ENTRIES: Record<string, string> = {
  client: "islands/client.ts",
  // Loaded with import() by the run view only: marked + DOMPurify stay off every other page.
  markdown: "islands/markdown.ts",
  // One bundle per kind of page, with only its islands (lib/islands/bundles.ts).
  "page-research": "islands/pages/research.ts",
  "page-run": "islands/pages/run.ts",
  "page-history": "islands/pages/history.ts",
  "page-settings": "islands/pages/settings.ts",
  "page-library": "islands/pages/library.ts",
};

async function bundle(name: string, entry: string): Promise<void> {
  const out = new URL(`static/build/${name}.js`, root).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--format",
      "esm",
      "-o",
      out,
      entry,
    ],
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) throw new Error(`deno bundle failed for ${entry}`);
}

if (import.meta.main) {
  await Deno.mkdir(new URL("static/build/", root), { recursive: true });
  for (const [name, entry] of Object.entries(ENTRIES)) await bundle(name, entry);
}
