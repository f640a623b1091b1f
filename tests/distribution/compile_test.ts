/**
 * scripts/compile.ts: the arguments it gives `deno compile`, where the binary goes, and what it
 * says when Deno's runtime (denort) is missing. Producing a runnable binary needs denort, which
 * these machines cannot download; the failing path is exercised for real with a bad DENORT_BIN.
 */
import { join } from "node:path";
import {
  BINARY_PERMISSIONS,
  compileArgs,
  denortHint,
  outputPath,
  parseCompileArgs,
} from "../../scripts/compile.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { ROOT, RUN_PERMISSIONS, runDeno } from "./process.ts";

/** Verbatim from `deno compile` 2.9.6 on a machine without access to Deno's download server. */
const OFFLINE_STDERR = `Compile dist/deepstudio.js to dist/deepstudio
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file '/work/main/dist/deepstudio.tmp-d54ba1d347c77926'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known
`;

Deno.test("compile bakes in the start task's permissions, KV and the static files", () => {
  assertEquals([...BINARY_PERMISSIONS].sort(), [...RUN_PERMISSIONS].sort());
  const args = compileArgs("dist/deepstudio.js", "dist/deepstudio");
  assertEquals(args[0], "compile");
  // The binary runs without deno.json (--no-config): each unstable feature it lists is a flag.
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)),
  ) as { unstable: string[] };
  const unstable = config.unstable.map((f) => `--unstable-${f}`);
  assert(unstable.includes("--unstable-no-legacy-abort"), unstable.join(" "));
  for (const flag of [...unstable, "--no-config", ...RUN_PERMISSIONS]) {
    assert(args.includes(flag), `${flag} in ${args.join(" ")}`);
  }
  assertEquals(args[args.indexOf("--include") + 1], "static/");
  assertEquals(args[args.indexOf("--output") + 1], "dist/deepstudio");
  assertEquals(args[args.length - 1], "dist/deepstudio.js");
  assert(!args.includes("--target"));
  const cross = compileArgs("b.js", "out", "aarch64-apple-darwin");
  assertEquals(cross[cross.indexOf("--target") + 1], "aarch64-apple-darwin");
});

Deno.test("the binary is dist/deepstudio, with .exe for Windows and the triple for cross builds", () => {
  assertEquals(outputPath({}, "linux"), join("dist", "deepstudio"));
  assertEquals(outputPath({}, "darwin"), join("dist", "deepstudio"));
  assertEquals(outputPath({}, "windows"), join("dist", "deepstudio.exe"));
  assertEquals(
    outputPath({ target: "x86_64-pc-windows-msvc" }, "linux"),
    join("dist", "deepstudio-x86_64-pc-windows-msvc.exe"),
  );
  assertEquals(
    outputPath({ target: "aarch64-apple-darwin" }, "windows"),
    join("dist", "deepstudio-aarch64-apple-darwin"),
  );
  assertEquals(outputPath({ output: "/tmp/ds" }, "linux"), "/tmp/ds");
});

Deno.test("compile options: --target is checked against deno compile's targets", () => {
  assertEquals(parseCompileArgs([]), { ok: true, options: {} });
  assertEquals(parseCompileArgs(["--target=x86_64-apple-darwin", "--output", "x"]), {
    ok: true,
    options: { target: "x86_64-apple-darwin", output: "x" },
  });
  const bad = parseCompileArgs(["--target", "riscv64"]);
  assert(!bad.ok && bad.message.includes('Unknown target "riscv64"'));
  const unknown = parseCompileArgs(["--release"]);
  assert(!unknown.ok && unknown.message.includes("Unknown option --release"));
  const missing = parseCompileArgs(["--output"]);
  assert(!missing.ok && missing.message.includes("--output needs a value"));
});

Deno.test("an offline deno compile is explained: set DENORT_BIN to a denort binary for this version", () => {
  const hint = denortHint(OFFLINE_STDERR, {}, "x86_64-unknown-linux-gnu");
  assert(hint);
  assertStringIncludes(hint, `set DENORT_BIN to a denort binary for ${Deno.version.deno}`);
  assertStringIncludes(hint, "denort-x86_64-unknown-linux-gnu.zip");
  assertEquals(denortHint('error: Module not found "file:///x.ts".', {}), null);
});

Deno.test("scripts/compile.ts (deno task compile) with an unusable DENORT_BIN bundles, then names the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-compile-" });
  try {
    const notDenort = join(dir, "not-denort");
    await Deno.writeTextFile(notDenort, "this is not a runtime\n");
    const output = join(dir, "deepstudio");
    const result = await runDeno(
      [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        join(ROOT, "scripts/compile.ts"),
        "--output",
        output,
      ],
      { cwd: ROOT, env: { DENORT_BIN: notDenort } },
    );
    assertEquals(result.code, 1, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, `using the runtime in DENORT_BIN=${notDenort}`);
    assertStringIncludes(
      result.stderr,
      `set DENORT_BIN to a denort binary for ${Deno.version.deno}`,
    );
    assert((await Deno.stat(join(dir, "deepstudio.js"))).size > 100_000, "the bundle was written");
    const leftovers = [];
    for await (const e of Deno.readDir(dir)) leftovers.push(e.name);
    assertEquals(leftovers.sort(), ["deepstudio.js", "not-denort"], "no half-written binary");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
