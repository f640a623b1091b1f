/**
 * Wires the program: parse flags and env, open KV, migrate, build the app, serve, and shut down
 * cleanly on SIGINT/SIGTERM. Everything else lives in app.ts and lib/.
 */
import { ConfigError, createApp } from "./app.ts";
import { detectContainer, parseConfig } from "./lib/config.ts";
import { KvOpenError, openDataKv } from "./lib/kv/open.ts";
import { envName, SETTING_KEYS } from "./lib/settings/schema.ts";

const env = Deno.env.toObject();
const parsed = parseConfig(Deno.args, env, SETTING_KEYS.map(envName));
if (!parsed.ok) {
  if (parsed.help) {
    console.log(parsed.text);
    Deno.exit(0);
  }
  console.error(`deepstudio: ${parsed.message}`);
  Deno.exit(2);
}
const config = { ...parsed.config, inContainer: detectContainer() };

let kv: Deno.Kv;
try {
  kv = await openDataKv(config.kvPath);
} catch (e) {
  if (!(e instanceof KvOpenError)) throw e;
  console.error(`deepstudio: ${e.message}`);
  Deno.exit(2);
}

const shutdown = new AbortController();
const log = (message: string) => console.error(`[deepstudio] ${message}`);
let app;
try {
  app = createApp({ kv, env, config, shutdown: shutdown.signal, log });
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`deepstudio: ${e.message}`);
    Deno.exit(2);
  }
  throw e;
}

let server: Deno.HttpServer;
try {
  server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) => {
      const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(`deepstudio is running at http://${shown}:${port}/`);
      console.log(`data: ${config.kvPath}`);
    },
  }, app.fetch);
} catch (e) {
  if (e instanceof Deno.errors.AddrInUse) {
    console.error(
      `deepstudio: port ${config.port} on ${config.host} is already in use; choose another with --port (e.g. --port ${
        config.port + 1
      })`,
    );
    Deno.exit(2);
  }
  if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
    console.error(
      `deepstudio: cannot listen on ${config.host}:${config.port} (${
        (e as Error).message
      }); check --host and --port`,
    );
    Deno.exit(2);
  }
  throw e;
}

let stopping = false;
async function stop(signal: string) {
  if (stopping) Deno.exit(1);
  stopping = true;
  console.log(`deepstudio: ${signal} received, stopping`);
  shutdown.abort();
  await server.shutdown();
  kv.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
