/**
 * The V8 flags that keep deepstudio's memory flat (scripts/compile.ts `V8_FLAGS`) are given by
 * every way it runs: `deno task start` and `deno task dev`, the Docker image's CMD and the compiled
 * binary. The benchmark reads the start task's flags, so what it measures is what users run.
 */
import { compileArgs, V8_FLAGS } from "../../scripts/compile.ts";
import { assert, assertEquals } from "../assert.ts";
import { execForm, readDockerfile } from "./docker_files.ts";
import { ROOT } from "./process.ts";
import { join } from "node:path";

const tasks = (JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as {
  tasks: Record<string, string>;
}).tasks;

Deno.test("the flags shrink the young generation and start the memory reducer early", () => {
  assert(V8_FLAGS.startsWith("--v8-flags="), V8_FLAGS);
  const flags = V8_FLAGS.slice("--v8-flags=".length).split(",");
  assert(flags.includes("--max-semi-space-size=1"), V8_FLAGS);
  assert(flags.some((f) => f.startsWith("--memory-reducer-delay-ms=")), V8_FLAGS);
});

Deno.test("deno task start and dev run main.ts with the V8 flags", () => {
  for (const name of ["start", "dev"]) {
    const run = tasks[name].split("&&").map((s) => s.trim()).find((s) => s.startsWith("deno run"));
    assert(run, `${name} runs deno run`);
    const args = run.split(/\s+/);
    assertEquals(args.at(-1), "main.ts", name);
    assert(args.includes(V8_FLAGS), `${name}: ${run}`);
  }
});

Deno.test("the Docker image and the binary run with the same V8 flags", async () => {
  const dockerfile = readDockerfile(await Deno.readTextFile(join(ROOT, "Dockerfile")));
  const cmd = execForm(dockerfile.filter((i) => i.name === "CMD").at(-1)!.args);
  assertEquals(cmd.filter((a) => a.startsWith("--v8-flags")), [V8_FLAGS]);
  const compile = compileArgs("dist/deepstudio.js", "dist/deepstudio");
  assertEquals(compile.filter((a) => a.startsWith("--v8-flags")), [V8_FLAGS]);
});
