/**
 * The V8 flags that keep deepstudio's memory flat (scripts/compile.ts `V8_FLAGS`) are given by
 * every way it runs: `deno task start` and `deno task dev`, the Docker image's CMD and the compiled
 * binary; glibc's malloc tunables (`MALLOC_TUNABLES`, an environment variable) by the tasks and
 * the image. The benchmark reads the start task's flags and environment, so what it measures is
 * what users run.
 */
import { compileArgs, MALLOC_TUNABLES, V8_FLAGS } from "../../scripts/compile.ts";
import { startTaskArgs, startTaskEnv } from "../../scripts/bench.ts";
import { assert, assertEquals } from "../assert.ts";
import { dockerEnv, execForm, readDockerfile } from "./docker_files.ts";
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

Deno.test("deno task start and dev run main.ts with the V8 flags and glibc's malloc tunables", () => {
  for (const name of ["start", "dev"]) {
    const run = tasks[name].split("&&").map((s) => s.trim()).find((s) =>
      s.startsWith(`GLIBC_TUNABLES=${MALLOC_TUNABLES} deno run `)
    );
    assert(run, `${name} runs deno run with GLIBC_TUNABLES=${MALLOC_TUNABLES}: ${tasks[name]}`);
    const args = run.split(/\s+/);
    assertEquals(args.at(-1), "main.ts", name);
    assert(args.includes(V8_FLAGS), `${name}: ${run}`);
  }
  // What the benchmark starts.
  assert(startTaskArgs().includes(V8_FLAGS));
  assertEquals(startTaskEnv(), { GLIBC_TUNABLES: MALLOC_TUNABLES });
});

Deno.test("the tunables are ones this glibc knows, and the Docker image sets the same", async () => {
  const dockerfile = readDockerfile(await Deno.readTextFile(join(ROOT, "Dockerfile")));
  assertEquals(dockerEnv(dockerfile).GLIBC_TUNABLES, MALLOC_TUNABLES);
  // The binary cannot set it for itself: README shows the command line with it.
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  assert(readme.includes(`GLIBC_TUNABLES=${MALLOC_TUNABLES} ./dist/deepstudio`), "README");
  const names = MALLOC_TUNABLES.split(":").map((t) => t.slice(0, t.indexOf("=")));
  assert(names.every((n) => n.startsWith("glibc.malloc.")), MALLOC_TUNABLES);
  // glibc's dynamic loader lists the values it would use; an unknown name is silently ignored,
  // so the values it reports prove the spelling (Linux with glibc only).
  const ld = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!ld) return;
  const out = await new Deno.Command(ld, {
    args: ["--list-tunables"],
    env: { GLIBC_TUNABLES: MALLOC_TUNABLES },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const listed = new TextDecoder().decode(out.stdout);
  for (const t of MALLOC_TUNABLES.split(":")) {
    const [name, value] = t.split("=");
    const m = new RegExp(`^${name.replaceAll(".", "\\.")}: (0x[0-9a-f]+)`, "m").exec(listed);
    assert(m, `${name} is listed by ${ld}`);
    assertEquals(Number(m[1]), Number(value), name);
  }
});

Deno.test("the Docker image and the binary run with the same V8 flags", async () => {
  const dockerfile = readDockerfile(await Deno.readTextFile(join(ROOT, "Dockerfile")));
  const cmd = execForm(dockerfile.filter((i) => i.name === "CMD").at(-1)!.args);
  assertEquals(cmd.filter((a) => a.startsWith("--v8-flags")), [V8_FLAGS]);
  const compile = compileArgs("dist/deepstudio.js", "dist/deepstudio");
  assertEquals(compile.filter((a) => a.startsWith("--v8-flags")), [V8_FLAGS]);
});
