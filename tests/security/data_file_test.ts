/**
 * The KV file holds API keys in plain text: the real program must create its directory 0700 and
 * the file with its `-wal`/`-shm` companions 0600, and a `--kv` path that cannot be a KV file must
 * end in one line naming the path and the flag with exit code 2, not a stack trace.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { ROOT, RUN_PERMISSIONS, runDeno, startServer } from "../distribution/process.ts";

const posix = Deno.build.os !== "windows";
const mode = (path: string) => (Deno.statSync(path).mode ?? 0) & 0o777;
const main = join(ROOT, "main.ts");

Deno.test({
  name: "the data directory is created 0700 and the KV file, -wal and -shm are 0600",
  ignore: !posix,
  fn: async () => {
    const base = await Deno.makeTempDir({ prefix: "deepstudio-modes-" });
    const dir = join(base, "data");
    const kvPath = join(dir, "deepstudio.kv");
    const server = await startServer(
      ["run", ...RUN_PERMISSIONS, main, "--port", "0", "--kv", kvPath],
      { cwd: base },
    );
    try {
      // A saved key makes SQLite write (and keep) its WAL and shared-memory files.
      const saved = await fetch(`${server.url}/api/settings`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ "llm.openai.api_key": "sk-modes-test" }),
      });
      assertEquals(saved.status, 200, await saved.text());
      assertEquals(mode(dir), 0o700, "data directory");
      for (const file of [kvPath, `${kvPath}-wal`, `${kvPath}-shm`]) {
        assertEquals(mode(file), 0o600, file);
      }
    } finally {
      await server.stop();
    }
    assertEquals(mode(kvPath), 0o600, "after shutdown");
    await Deno.remove(base, { recursive: true });
  },
});

Deno.test({
  name: "a KV file an older version left 0644 is tightened to 0600 at start-up",
  ignore: !posix,
  fn: async () => {
    const base = await Deno.makeTempDir({ prefix: "deepstudio-modes-" });
    const kvPath = join(base, "old.kv");
    const kv = await Deno.openKv(kvPath);
    await kv.set(["meta", "probe"], 1);
    kv.close();
    await Deno.chmod(kvPath, 0o644);
    const server = await startServer(
      ["run", ...RUN_PERMISSIONS, main, "--port", "0", "--kv", kvPath],
      { cwd: base },
    );
    try {
      assertEquals(mode(kvPath), 0o600);
    } finally {
      await server.stop();
      await Deno.remove(base, { recursive: true });
    }
  },
});

async function badKv(kvPath: string) {
  const out = await runDeno(["run", ...RUN_PERMISSIONS, main, "--port", "0", "--kv", kvPath], {
    cwd: ROOT,
  });
  assertEquals(out.code, 2, out.stderr);
  const lines = out.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `one line, got:\n${out.stderr}`);
  assertMatch(lines[0], /^deepstudio: /);
  assertStringIncludes(lines[0], kvPath);
  assertStringIncludes(lines[0], "--kv");
  assert(!/\bat .*:\d+:\d+/.test(out.stderr), `no stack trace:\n${out.stderr}`);
  return lines[0];
}

Deno.test("--kv naming a directory ends with one line naming the path and --kv, exit code 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-badkv-" });
  try {
    assertStringIncludes(await badKv(dir), "directory");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--kv naming a file that is not SQLite ends with one line, exit code 2, file untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-badkv-" });
  const file = join(dir, "notes.txt");
  await Deno.writeTextFile(file, "these are my notes, not a database\n".repeat(200));
  try {
    assertStringIncludes(await badKv(file), "not a database");
    assertEquals(
      await Deno.readTextFile(file),
      "these are my notes, not a database\n".repeat(200),
      "the file is left as it was",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--kv under a path whose parent is a file ends with one line, exit code 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-badkv-" });
  const file = join(dir, "plain");
  await Deno.writeTextFile(file, "x");
  try {
    await badKv(join(file, "sub", "deepstudio.kv"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
