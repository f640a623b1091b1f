/**
 * deepstudio must not depend on the directory it is started from: assets travel inside the module
 * graph (lib/assets.ts) and the data lives in the user's data directory. These tests start the real
 * program from an empty directory and look at what it serves and what it writes.
 */
import { join } from "node:path";
import { defaultDataDir } from "../../lib/config.ts";
import { VERSION } from "../../lib/version.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  fetchAppParts,
  mismatchedAssets,
  ROOT,
  RUN_PERMISSIONS,
  runDeno,
  startServer,
} from "./process.ts";

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    out.push(entry.name);
    if (entry.isDirectory) {
      for (const inner of await listTree(join(dir, entry.name))) out.push(`${entry.name}/${inner}`);
    }
  }
  return out.sort();
}

Deno.test("started from another working directory, the app serves pages, hashed assets and the API", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "deepstudio-cwd-" });
  const server = await startServer(
    ["run", ...RUN_PERMISSIONS, join(ROOT, "main.ts"), "--port", "0", "--kv", ":memory:"],
    { cwd },
  );
  try {
    const parts = await fetchAppParts(server.url);
    assertStringIncludes(parts.home, "<title>Research · deepstudio</title>");
    assertStringIncludes(parts.settings, '<ds-island data-name="SettingsForm"');
    assertEquals(parts.client.status, 200);
    assertStringIncludes(parts.client.type ?? "", "text/javascript");
    assertEquals(
      parts.client.body,
      await Deno.readTextFile(join(ROOT, "static/build/page-settings.js")),
      "the served client script is the built bundle",
    );
    assertEquals(parts.css.status, 200);
    assertEquals(parts.css.body, await Deno.readTextFile(join(ROOT, "static/app.css")));
    assertEquals(parts.health, { status: 200, body: { status: "ok", version: VERSION } });
    assertEquals(await mismatchedAssets(server.url), [], "every asset, byte for byte");
    assertEquals(await listTree(cwd), [], "nothing is written to the working directory");
  } finally {
    await server.stop();
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("without --kv the data lives in the user's data directory, not the working directory", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "deepstudio-cwd-" });
  const home = await Deno.makeTempDir({ prefix: "deepstudio-home-" });
  // Moving HOME moves Deno's own cache too: keep the one that already holds the npm packages.
  const info = await runDeno(["info", "--json"], { cwd: ROOT });
  const denoDir = JSON.parse(info.stdout).denoDir as string;
  const env = {
    HOME: home,
    USERPROFILE: home,
    XDG_DATA_HOME: join(home, "xdg-data"),
    APPDATA: join(home, "AppData", "Roaming"),
    DENO_DIR: denoDir,
  };
  const expected = join(defaultDataDir(env), "deepstudio.kv");
  const server = await startServer(
    ["run", ...RUN_PERMISSIONS, join(ROOT, "main.ts"), "--port", "0"],
    { cwd, env: { ...env, DEEPSTUDIO_KV: "" } },
  );
  try {
    assertEquals((await server.waitForOutput(/^data: (.*)$/m))[1], expected);
    const saved = await fetch(`${server.url}/api/settings`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "llm.temperature": 0.25 }),
    });
    assertEquals(saved.status, 200, await saved.text());
    assert((await Deno.stat(expected)).isFile, `KV file at ${expected}`);
    assertEquals(await listTree(cwd), [], "nothing is written to the working directory");
  } finally {
    await server.stop();
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
