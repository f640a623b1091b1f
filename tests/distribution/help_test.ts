/**
 * `--help` is the documentation people see first (`deno task start --help`, the binary's
 * `--help`): it must list every flag and every setting's environment variable, from the code.
 */
import { join } from "node:path";
import { FLAGS } from "../../lib/config.ts";
import { envName, SETTING_KEYS } from "../../lib/settings/schema.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { ROOT, RUN_PERMISSIONS, runDeno } from "./process.ts";

/** The last command of the `start` task: `deno task start --help` appends `--help` to it. */
async function startCommand(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const chain = String(config.tasks.start).split("&&");
  // Without its `NAME=value` prefixes (glibc's malloc tunables: v8_flags_test.ts checks them).
  const words = chain[chain.length - 1].trim().split(/\s+/);
  while (/^\w+=/.test(words[0])) words.shift();
  return words;
}

Deno.test("deno task start passes extra arguments to main.ts, with the permissions the tests use", async () => {
  const command = await startCommand();
  assertEquals(command[0], "deno");
  assertEquals(command[1], "run");
  assertEquals(command[command.length - 1], "main.ts", "appended arguments must reach main.ts");
  assertEquals(
    command.filter((a) => a.startsWith("--allow-")).sort(),
    [...RUN_PERMISSIONS].sort(),
  );
});

Deno.test("--help lists every flag with its env var and every setting's env var", async () => {
  const command = await startCommand();
  const { code, stdout, stderr } = await runDeno([...command.slice(1), "--help"], { cwd: ROOT });
  assertEquals(code, 0, stderr);
  for (const f of FLAGS) {
    assertStringIncludes(stdout, `${f.flag} ${f.arg}`);
    assertStringIncludes(stdout, `env ${f.env}`);
  }
  const listed = stdout.split("\n").map((l) => l.trim()).filter((l) => /^LDR_[A-Z0-9_]+$/.test(l));
  assertEquals(listed, SETTING_KEYS.map(envName));
});

Deno.test("an unknown flag exits with status 2 and points at --help", async () => {
  const command = await startCommand();
  const { code, stderr } = await runDeno([...command.slice(1), "--prot", "5000"], { cwd: ROOT });
  assertEquals(code, 2);
  assertStringIncludes(stderr, "Unknown option --prot; see --help");
});
