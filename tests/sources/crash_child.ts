/**
 * A deepstudio process for the sourced kill -9 test: the app over the KV file (first argument),
 * pointed at LM Studio (second) and SearXNG (third), private result pages allowed; prints its URL
 * and runs until killed.
 */
import { createApp } from "../../app.ts";
import { migrate } from "../../lib/kv/migrations.ts";

const [kvPath, lmUrl, searxngUrl] = Deno.args;
const kv = await Deno.openKv(kvPath);
await migrate(kv);
const app = createApp({
  kv,
  env: {
    LDR_LLM_LMSTUDIO_URL: lmUrl,
    LDR_SEARCH_SEARXNG_URL: searxngUrl,
    LDR_SEARCH_ALLOW_PRIVATE_URLS: "true",
  },
  config: { runLeaseMs: 1000 },
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
console.log(`http://127.0.0.1:${server.addr.port}`);
