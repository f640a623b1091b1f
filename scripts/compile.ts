/**
 * `deno task compile`: the single binary. Two steps:
 *
 * 1. `deno bundle --platform deno main.ts` → `dist/deepstudio.js`: the whole program in one file,
 *    islands' client script and stylesheet included (lib/assets.ts imports them as text). It runs
 *    with plain `deno run` from any directory; tests/distribution/bundle_test.ts proves exactly that.
 * 2. `deno compile` of that file → `dist/deepstudio` (`.exe` for Windows), with the permissions
 *    and `--unstable-kv` baked in. Compiling the bundle rather than main.ts keeps the binary
 *    small: compiling main.ts embeds every npm package of deno.json whole (openai, zod and the
 *    test-only playwright-core: ~48 MB), while the bundle carries only the code it uses (~1 MB).
 *
 * `deno compile` writes the program into a copy of Deno's `denort` runtime, which it downloads
 * for the target unless the `DENORT_BIN` environment variable names one already on disk; deno
 * compile reads that variable itself, and this script passes the environment through untouched.
 *
 * Usage: deno task compile [--target TRIPLE] [--output PATH]
 */
import { dirname, join, relative } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

/** Targets `deno compile --target` accepts (Deno 2.9). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-pc-windows-msvc",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

/** Permissions baked into the binary: the same as `deno task start`. */
export const BINARY_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
];

/**
 * V8 flags of every way deepstudio runs (`deno task start`, the Docker image, the binary), the
 * same everywhere (tests/distribution/v8_flags_test.ts). A small young generation (1 MB
 * semi-spaces instead of V8's up to 16 MB) keeps idle RSS and memory per open stream down: a
 * relay's garbage is short-lived, and scavenging 1 MB is cheap. The memory reducer, which hands
 * a heap grown under load back to the OS once allocation goes quiet, starts after 1 s instead of
 * 8-30 s. docs/benchmarks.md measures both.
 */
export const V8_FLAGS =
  "--v8-flags=--max-semi-space-size=1,--memory-reducer-delay-ms=1000,--gc-memory-reducer-start-delay-ms=1000";

/**
 * glibc's malloc settings for every way deepstudio runs on Linux, as the `GLIBC_TUNABLES`
 * environment variable (glibc reads it when the process starts, so no flag or code can set it):
 * `deno task start` and `dev` set it in front of `deno run`, the Docker image has it as an ENV,
 * and the compiled binary needs it in its environment (README, "Single binary"). Deno's HTTP
 * server, fetch and ArrayBuffer backing stores allocate on the main thread's arena, which a load
 * fragments; glibc only hands back the free top of that heap. Allocations from 16 KB up (body
 * chunks, connection buffers) go to their own mappings instead, returned on free, and the heap is
 * trimmed without padding, so RSS after a load falls back closer to idle
 * (docs/decisions/v8-flags.md measures it). Other C libraries (musl, macOS, Windows) ignore it.
 */
export const MALLOC_TUNABLES =
  "glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=32768:glibc.malloc.top_pad=0";

/** What the command line asked for. */
export interface CompileOptions {
  /** Target triple; undefined builds for this machine. */
  target?: string;
  /** Output path relative to the repository root, or absolute. */
  output?: string;
}

/** Parses `[--target T] [--output P]` (also `--flag=value`). */
export function parseCompileArgs(
  args: string[],
): { ok: true; options: CompileOptions } | { ok: false; message: string } {
  const options: CompileOptions = {};
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].includes("=")
      ? [args[i].slice(0, args[i].indexOf("=")), args[i].slice(args[i].indexOf("=") + 1)]
      : [args[i], undefined];
    if (name !== "--target" && name !== "--output") {
      return { ok: false, message: `Unknown option ${name}; use --target TRIPLE or --output PATH` };
    }
    const value = inline ?? args[++i];
    if (!value) return { ok: false, message: `${name} needs a value` };
    if (name === "--target") {
      if (!(TARGETS as readonly string[]).includes(value)) {
        return {
          ok: false,
          message: `Unknown target "${value}"; use one of ${TARGETS.join(", ")}`,
        };
      }
      options.target = value;
    } else options.output = value;
  }
  return { ok: true, options };
}

/**
 * Where the binary goes: `dist/deepstudio` for this machine, `dist/deepstudio-<target>` for
 * another target so cross builds never overwrite each other; `.exe` whenever Windows runs it.
 */
export function outputPath(options: CompileOptions, hostOs: string = Deno.build.os): string {
  const windows = options.target ? options.target.includes("windows") : hostOs === "windows";
  let out = options.output ??
    join("dist", options.target ? `deepstudio-${options.target}` : "deepstudio");
  if (windows && !out.endsWith(".exe")) out += ".exe";
  return out;
}

/** The `deno bundle` arguments that make the one-file program. */
export function bundleArgs(bundlePath: string): string[] {
  return ["bundle", "--quiet", "--platform", "deno", "-o", bundlePath, "main.ts"];
}

/** The `deno compile` arguments; run with the repository root as the working directory. */
export function compileArgs(bundlePath: string, output: string, target?: string): string[] {
  return [
    "compile",
    // The bundle is self-contained: no import map, and deno.json's npm packages stay out.
    "--no-config",
    "--unstable-kv",
    // As deno.json's "unstable" list: a request's signal aborts only when its client goes away
    // (Deno 2.9 otherwise aborts it after every response, a DOMException per request).
    "--unstable-no-legacy-abort",
    ...BINARY_PERMISSIONS,
    V8_FLAGS,
    // Assets travel inside the bundle already; the files ride along for inspection.
    "--include",
    "static/",
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    bundlePath,
  ];
}

/**
 * Turns a failed `deno compile` into the sentence that fixes it. Without network access to
 * Deno's download server the runtime can't be fetched; with a wrong DENORT_BIN it can't be used.
 * Returns null when the failure is about something else (the output above then says what).
 */
export function denortHint(
  stderr: string,
  env: Record<string, string | undefined>,
  target: string = Deno.build.target,
): string | null {
  const version = Deno.version.deno;
  const zip = `denort-${target}.zip`;
  const where =
    `It is ${zip} among the assets of Deno's v${version} release (github.com/denoland/deno/releases); unzip it and point DENORT_BIN at the file.`;
  const given = env.DENORT_BIN;
  if (given) {
    if (
      !/base binary|binary bytes|denort|DENORT_BIN|No such file|not found|ELF|Mach-O|PE /i.test(
        stderr,
      )
    ) {
      return null;
    }
    return `DENORT_BIN=${given} could not be used as the runtime: set DENORT_BIN to a denort binary for ${version} (${target}), the same version as the deno that compiles. ${where}`;
  }
  if (!/dl\.deno\.land|denort|base binary|error sending request|dns error/i.test(stderr)) {
    return null;
  }
  return `deno compile could not download Deno's runtime (denort ${version} for ${target}); this machine cannot reach Deno's download server. Download it elsewhere and set DENORT_BIN to a denort binary for ${version}: DENORT_BIN=/path/to/denort deno task compile. ${where}`;
}

async function run(args: string[], captureStderr: boolean): Promise<{ code: number; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: captureStderr ? "piped" : "inherit",
  }).spawn();
  let err = "";
  if (captureStderr) {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      await Deno.stderr.write(chunk);
      err += decoder.decode(chunk, { stream: true });
    }
  }
  return { code: (await child.status).code, err };
}

async function main(args: string[]): Promise<number> {
  const parsed = parseCompileArgs(args);
  if (!parsed.ok) {
    console.error(`compile: ${parsed.message}`);
    return 2;
  }
  const { target } = parsed.options;
  const output = outputPath(parsed.options);
  try {
    await Deno.stat(join(ROOT, "static/build/client.js"));
  } catch {
    console.error("compile: static/build/client.js is missing; run `deno task build` first");
    return 1;
  }
  const outAbs = output.startsWith("/") ? output : join(ROOT, output);
  await Deno.mkdir(dirname(outAbs), { recursive: true });
  const bundlePath = join(dirname(outAbs), "deepstudio.js");

  console.log(`compile: bundling main.ts → ${relative(ROOT, bundlePath)}`);
  const bundled = await run(bundleArgs(bundlePath), false);
  if (bundled.code !== 0) {
    console.error("compile: deno bundle failed; see the messages above");
    return 1;
  }

  const env = Deno.env.toObject();
  console.log(
    env.DENORT_BIN
      ? `compile: using the runtime in DENORT_BIN=${env.DENORT_BIN} (deno compile reads it)`
      : `compile: deno compile will download denort ${Deno.version.deno} for ${
        target ?? Deno.build.target
      } (set DENORT_BIN to use a local copy)`,
  );
  const compiled = await run(compileArgs(bundlePath, outAbs, target), true);
  if (compiled.code !== 0) {
    const hint = denortHint(compiled.err, env, target);
    console.error(`\ncompile: FAILED. ${hint ?? "deno compile failed; see the messages above."}`);
    return 1;
  }
  const size = (await Deno.stat(outAbs)).size;
  const shown = outAbs.startsWith(ROOT) ? relative(ROOT, outAbs) : outAbs;
  console.log(`compile: wrote ${shown} (${(size / 1024 / 1024).toFixed(1)} MB)`);
  console.log(`compile: run it with  ${outAbs} --help`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
