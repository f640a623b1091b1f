/**
 * `deno bundle --platform deno main.ts` must give one JavaScript file that is the whole program:
 * server, pages, the islands' client bundle and the stylesheet, needing nothing but `deno run`.
 * scripts/compile.ts compiles exactly this file, so what passes here is what the binary runs.
 */
import { join } from "node:path";
import { VERSION } from "../../lib/version.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { fetchAppParts, mismatchedAssets, ROOT, runDeno, startServer } from "./process.ts";

/** Specifiers the bundle still imports: only Node built-ins may remain. */
function importedSpecifiers(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm)) {
    found.add(m[1]);
  }
  for (const m of code.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) found.add(m[1]);
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.add(m[1]);
  // A specifier with `${…}` is text inside a template literal (PDF.js builds a worker wrapper
  // string `await import("${url}")`), not an import of the bundle.
  return [...found].filter((s) => !s.includes("${")).sort();
}

Deno.test("the one-file bundle of main.ts serves the full app from an empty directory", async () => {
  const work = await Deno.makeTempDir({ prefix: "deepstudio-bundle-" });
  const empty = await Deno.makeTempDir({ prefix: "deepstudio-empty-" });
  let server;
  try {
    const out = join(work, "deepstudio.js");
    const bundled = await runDeno(
      ["bundle", "--quiet", "--platform", "deno", "-o", out, "main.ts"],
      { cwd: ROOT },
    );
    assertEquals(bundled.code, 0, bundled.stderr);
    const code = await Deno.readTextFile(out);
    console.log(`one-file bundle: ${(code.length / 1024).toFixed(0)} KiB`);
    const foreign = importedSpecifiers(code).filter((s) => !s.startsWith("node:"));
    assertEquals(foreign, [], "the bundle imports nothing but Node built-ins");

    await Deno.copyFile(out, join(empty, "deepstudio.js"));
    const help = await runDeno(["run", "--no-prompt", "--allow-env", "deepstudio.js", "--help"], {
      cwd: empty,
    });
    assertEquals(help.code, 0, help.stderr);
    assertStringIncludes(help.stdout, "--access-token");

    // Reads and writes confined to the directory: the bundle cannot lean on the repository.
    const args = [
      "run",
      "--no-prompt",
      "--unstable-kv",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      `--allow-read=${empty}`,
      `--allow-write=${empty}`,
      "deepstudio.js",
      "--port",
      "0",
      "--kv",
      join(empty, "data", "deepstudio.kv"),
    ];
    server = await startServer(args, { cwd: empty });

    const parts = await fetchAppParts(server.url);
    assertStringIncludes(parts.home, "<title>Research · deepstudio</title>");
    assertStringIncludes(parts.settings, '<ds-island data-name="SettingsForm"');
    assertEquals(parts.client.status, 200);
    assertEquals(
      parts.client.body,
      await Deno.readTextFile(join(ROOT, "static/build/page-settings.js")),
      "the bundle carries the islands' client script byte for byte",
    );
    assertEquals(parts.css.status, 200);
    assertEquals(parts.css.body, await Deno.readTextFile(join(ROOT, "static/app.css")));
    assertEquals(parts.health, { status: 200, body: { status: "ok", version: VERSION } });
    assertEquals(await mismatchedAssets(server.url), [], "every asset, byte for byte");

    const patched = await fetch(`${server.url}/api/settings`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "llm.max_tokens": 2048 }),
    });
    assertEquals(patched.status, 200, await patched.text());
    await server.stop();

    server = await startServer(args, { cwd: empty });
    const reread = await (await fetch(`${server.url}/api/settings`)).json();
    assertEquals(reread.settings["llm.max_tokens"].value, 2048, "saved in the KV file");
  } finally {
    await server?.stop();
    await Deno.remove(work, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});
