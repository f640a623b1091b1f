/**
 * Test scaffolding: an app over in-memory KV, and the same app on a real socket (port 0) when
 * streams or a browser need one.
 */
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import type { AppDeps } from "../lib/context.ts";
import { migrate } from "../lib/kv/migrations.ts";

/** An app on `:memory:` KV plus its KV handle; `close` releases both. */
export async function testApp(deps: Partial<AppDeps> = {}) {
  const kv = deps.kv ?? await Deno.openKv(":memory:");
  await migrate(kv);
  const shutdown = new AbortController();
  const app = createApp({ kv, shutdown: shutdown.signal, ...deps });
  return {
    app,
    kv,
    shutdown,
    close: () => {
      shutdown.abort();
      kv.close();
    },
  };
}

/** Serves a Hono app on 127.0.0.1 with an OS-chosen port. */
export function serve(app: Hono) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { server, url, close: () => server.shutdown() };
}

/** JSON request helper for `app.request`. */
export function json(
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  };
}
