/**
 * The container's health check, run exactly as the Dockerfile's HEALTHCHECK runs it (same deno
 * flags), against the real program: healthy while deepstudio serves, unhealthy once it is gone
 * or when something else answers on the port.
 */
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { execForm, readDockerfile } from "./docker_files.ts";
import { ROOT, RUN_PERMISSIONS, runDeno, startServer } from "./process.ts";

const TOKEN = "health-check-token-0123456789abcdef";

async function healthcheckArgs(): Promise<string[]> {
  const dockerfile = readDockerfile(await Deno.readTextFile(join(ROOT, "Dockerfile")));
  const hc = execForm(dockerfile.find((i) => i.name === "HEALTHCHECK")!.args);
  return hc.slice(1).map((a) => a.replace(/^\/app\//, ROOT));
}

function portOf(url: string): string {
  return new URL(url).port;
}

Deno.test("the Docker health check passes while deepstudio serves and fails once it stops", async () => {
  const args = await healthcheckArgs();
  const server = await startServer(
    [
      "run",
      ...RUN_PERMISSIONS,
      join(ROOT, "main.ts"),
      "--port",
      "0",
      "--kv",
      ":memory:",
      "--access-token",
      TOKEN,
    ],
    { cwd: ROOT },
  );
  const env = {
    DEEPSTUDIO_HOST: "0.0.0.0",
    DEEPSTUDIO_PORT: portOf(server.url),
    DEEPSTUDIO_ACCESS_TOKEN: TOKEN,
  };
  try {
    const healthy = await runDeno(args, { cwd: "/", env });
    assertEquals(healthy.code, 0, healthy.stderr);
    assertStringIncludes(healthy.stdout, '"status":"ok"');
  } finally {
    await server.stop();
  }
  const gone = await runDeno(args, { cwd: "/", env });
  assertEquals(gone.code, 1);
  assertStringIncludes(
    gone.stderr,
    `unhealthy: http://127.0.0.1:${env.DEEPSTUDIO_PORT}/api/health`,
  );
});

Deno.test("the Docker health check fails when the port answers but not with deepstudio's health", async () => {
  const args = await healthcheckArgs();
  const other = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html>not deepstudio</html>", { headers: { "content-type": "text/html" } }),
  );
  try {
    const result = await runDeno(args, {
      cwd: "/",
      env: { DEEPSTUDIO_HOST: "", DEEPSTUDIO_PORT: String(other.addr.port) },
    });
    assertEquals(result.code, 1);
    assertStringIncludes(result.stderr, "unhealthy");
  } finally {
    await other.shutdown();
  }
});
