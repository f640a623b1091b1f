/**
 * A deepstudio process for the restart test: serves the app on port 0 over the KV file given as
 * the first argument, pointed at the LM Studio URL given second, prints its URL, and runs until
 * killed (SIGKILL: no shutdown handler runs, as in a crash or a power cut).
 */
import { createApp } from "../../app.ts";
import { migrate } from "../../lib/kv/migrations.ts";

const [kvPath, lmUrl] = Deno.args;
const kv = await Deno.openKv(kvPath);
await migrate(kv);
// A short lease, so the restarted app may take the run over soon after the kill.
const app = createApp({
  kv,
  env: { LDR_LLM_LMSTUDIO_URL: lmUrl, LDR_LLM_LMSTUDIO_NATIVE_CHAT: "false" },
  config: { runLeaseMs: 1000 },
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
console.log(`http://127.0.0.1:${server.addr.port}`);
