/**
 * Docker can't run on these machines, so the Docker files are held to the code instead: every
 * variable they set is one deepstudio reads, the values parse the way the app would parse them,
 * ports, paths and the health check agree, and the build context keeps what the image needs.
 */
import { join } from "node:path";
import { createApp } from "../../app.ts";
import { FLAGS, parseConfig } from "../../lib/config.ts";
import { readEnvOverrides } from "../../lib/settings/env.ts";
import { envName, SETTING_KEYS } from "../../lib/settings/schema.ts";
import { ENTRIES } from "../../scripts/build.ts";
import { healthUrl } from "../../scripts/healthcheck.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  dockerEnv,
  dockerIgnored,
  execForm,
  interpolate,
  readCompose,
  readDockerfile,
  readDockerignore,
} from "./docker_files.ts";
import { ROOT, RUN_PERMISSIONS, runDeno } from "./process.ts";

const KNOWN_ENV = new Set<string>([
  ...SETTING_KEYS.map(envName),
  ...FLAGS.map((f) => f.env),
  // Read by glibc, not by deepstudio (scripts/compile.ts MALLOC_TUNABLES; v8_flags_test.ts).
  "GLIBC_TUNABLES",
]);
const TOKEN = "a-test-token-of-32-characters-xx";

const dockerfileText = await Deno.readTextFile(join(ROOT, "Dockerfile"));
const composeText = await Deno.readTextFile(join(ROOT, "docker-compose.yml"));
const dockerfile = readDockerfile(dockerfileText);
const imageEnv = dockerEnv(dockerfile);
const compose = readCompose(composeText);
const service = compose.services.deepstudio;

function only(name: string) {
  const found = dockerfile.filter((i) => i.name === name);
  assertEquals(found.length, 1, `exactly one ${name} in the Dockerfile`);
  return found[0];
}

/** The environment the app sees in the container: image ENV, then compose's, interpolated. */
function containerEnv(vars: Record<string, string>): Record<string, string> {
  const env = { ...imageEnv };
  for (const [k, v] of Object.entries(service.environment)) env[k] = interpolate(v, vars);
  return env;
}

Deno.test("every variable the compose file and the Dockerfile set is a real setting or flag (or glibc's)", () => {
  assert(service, "a deepstudio service");
  const names = [...Object.keys(service.environment), ...Object.keys(imageEnv)];
  assert(names.length >= 5);
  for (const name of names) {
    assert(KNOWN_ENV.has(name), `${name} is neither a setting's env name nor a flag's`);
  }
});

Deno.test("every LDR_ and DEEPSTUDIO_ name in the Docker files and the docs exists, comments included", async () => {
  const files = ["Dockerfile", "docker-compose.yml", "README.md", "docs/lmstudio.md"];
  let seen = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(join(ROOT, file));
    } catch {
      throw new Error(`${file} is missing`);
    }
    for (const m of text.matchAll(/\b(?:LDR|DEEPSTUDIO)_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      seen++;
      assert(KNOWN_ENV.has(m[0]), `${file} mentions ${m[0]}, which deepstudio does not read`);
    }
  }
  assert(seen > 10);
});

Deno.test("the container's environment starts the app on 0.0.0.0:5000 with KV on the volume", () => {
  const env = containerEnv({ DEEPSTUDIO_ACCESS_TOKEN: TOKEN });
  const parsed = parseConfig([], env, SETTING_KEYS.map(envName));
  assert(parsed.ok, JSON.stringify(parsed));
  assertEquals(parsed.config.host, "0.0.0.0");
  assertEquals(parsed.config.port, 5000);
  assertEquals(parsed.config.kvPath, "/data/deepstudio.kv");
  assertEquals(parsed.config.accessToken, TOKEN);

  const overrides = readEnvOverrides(env);
  assertEquals(overrides.errors, []);
  assertEquals(overrides.warnings, []);
  assertEquals(overrides.values["llm.lmstudio.url"], "http://host.docker.internal:1234");
});

Deno.test("compose refuses to start without DEEPSTUDIO_ACCESS_TOKEN, and so would the app", () => {
  let message = "";
  try {
    containerEnv({});
  } catch (e) {
    message = (e as Error).message;
  }
  assertStringIncludes(message, "DEEPSTUDIO_ACCESS_TOKEN");
  const parsed = parseConfig([], { ...imageEnv }, []);
  assert(!parsed.ok && !parsed.help);
  assertStringIncludes(parsed.message, "Refusing to listen on 0.0.0.0 without an access token");
});

Deno.test("compose publishes on the host's loopback only, reaches the host, and keeps data in a named volume", () => {
  assertEquals(service.ports, [
    `127.0.0.1:${imageEnv.DEEPSTUDIO_PORT}:${imageEnv.DEEPSTUDIO_PORT}`,
  ]);
  assertEquals(service.extraHosts, ["host.docker.internal:host-gateway"]);
  assertEquals(service.scalars.build, ".");
  assertEquals(service.volumes.length, 1);
  const [volume, target] = service.volumes[0].split(":");
  assert(compose.volumes.includes(volume), `${volume} is declared under volumes:`);
  assertEquals(execForm(only("VOLUME").args), [target]);
  assert(imageEnv.DEEPSTUDIO_KV.startsWith(`${target}/`), "the KV file is on the volume");
  for (const os of ["Mac", "Windows", "Linux", "Serve on Local Network"]) {
    assertStringIncludes(composeText, os);
  }
});

Deno.test("the Dockerfile pins this Deno, runs as non-root, builds the islands and runs main.ts", () => {
  assertEquals(only("FROM").args, `denoland/deno:${Deno.version.deno}`);
  const users = dockerfile.filter((i) => i.name === "USER").map((i) => i.args);
  assert(users.length > 0 && users[users.length - 1] !== "root" && users.at(-1) !== "0");
  const runs = dockerfile.filter((i) => i.name === "RUN").map((i) => i.args).join("\n");
  assertStringIncludes(runs, "deno task build");
  assertStringIncludes(runs, "deno cache main.ts");
  const cmd = execForm(only("CMD").args);
  assertEquals(cmd[0], "run");
  assertEquals(cmd[cmd.length - 1], "main.ts");
  assertEquals(cmd.filter((a) => a.startsWith("--allow-")).sort(), [...RUN_PERMISSIONS].sort());
  assertEquals(only("EXPOSE").args, imageEnv.DEEPSTUDIO_PORT);
});

Deno.test("the health check probes /api/health on the configured port with only the env it may read", async () => {
  const hc = execForm(only("HEALTHCHECK").args);
  assertEquals(hc.slice(0, 2), ["deno", "run"]);
  const script = hc[hc.length - 1];
  assertEquals(script, "/app/scripts/healthcheck.ts");
  assertEquals(only("WORKDIR").args, "/app");
  const source = await Deno.readTextFile(join(ROOT, "scripts/healthcheck.ts"));
  const read = [...source.matchAll(/Deno\.env\.get\("(\w+)"\)/g)].map((m) => m[1]).sort();
  const allowed = hc.find((a) => a.startsWith("--allow-env="))!.slice("--allow-env=".length);
  assertEquals(allowed.split(",").sort(), read);
  for (const name of read) assert(KNOWN_ENV.has(name), name);

  const url = healthUrl(containerEnv({ DEEPSTUDIO_ACCESS_TOKEN: TOKEN }));
  assertEquals(url, `http://127.0.0.1:${imageEnv.DEEPSTUDIO_PORT}/api/health`);
  const kv = await Deno.openKv(":memory:");
  try {
    const app = createApp({ kv });
    assert(app.routes.some((r) => r.method === "GET" && r.path === "/api/health"));
  } finally {
    kv.close();
  }
});

Deno.test(".dockerignore keeps every module the image runs or builds, and drops build output and data", async () => {
  const patterns = readDockerignore(await Deno.readTextFile(join(ROOT, ".dockerignore")));
  for (const path of [".git", "static/build/client.js", "dist/deepstudio", "x.kv", "a/b.kv-wal"]) {
    assert(dockerIgnored(patterns, path), `${path} should be ignored`);
  }
  const entries = [
    "main.ts",
    "scripts/build.ts",
    "scripts/healthcheck.ts",
    ...Object.values(ENTRIES),
  ];
  const local = new Set<string>(["deno.json", "deno.lock"]);
  for (const entry of entries) {
    const info = await runDeno(["info", "--json", entry], { cwd: ROOT });
    assertEquals(info.code, 0, info.stderr);
    for (const m of JSON.parse(info.stdout).modules as { specifier: string }[]) {
      if (m.specifier.startsWith("file://")) {
        local.add(decodeURIComponent(new URL(m.specifier).pathname).slice(ROOT.length));
      }
    }
  }
  assert(local.has("lib/assets.ts") && local.has("islands/registry.ts"));
  for (const path of local) {
    if (path.startsWith("static/build/")) continue; // built inside the image
    assert(
      !dockerIgnored(patterns, path),
      `${path} is needed in the image but .dockerignore drops it`,
    );
  }
});
