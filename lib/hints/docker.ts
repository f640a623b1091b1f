/**
 * The one wording of the container/loopback advice, per server family. Inside a container,
 * `localhost` is the container itself; Docker Desktop (Mac/Windows) reaches the host as
 * `host.docker.internal`; on Linux that name needs `extra_hosts: host-gateway` AND the server
 * must listen beyond 127.0.0.1, which each server turns on differently (docs/docker.md, docs/providers.md "Docker"). Error
 * hints, the status probe and the Status page checklist all take their text from here.
 */

/** How each server family is made to listen beyond 127.0.0.1 (docs/docker.md, docs/providers.md "Docker"). */
const LISTEN: Record<string, string> = {
  lmstudio: `turn on "Serve on Local Network" in LM Studio's server settings`,
  llamacpp: "start llama-server with --host 0.0.0.0",
  ollama: "start Ollama with OLLAMA_HOST=0.0.0.0",
  openai_endpoint: "start the server listening on 0.0.0.0 (vLLM: --host 0.0.0.0)",
};

/** The Linux step that makes the provider's server reachable from a container. */
export function listenStep(providerId: string): string {
  return LISTEN[providerId] ?? "make the server listen on 0.0.0.0";
}

/**
 * The hint for "cannot reach a loopback address from inside a container": `target` is the same
 * URL with host.docker.internal. Only for that failure; never after the server answered.
 */
export function dockerLoopbackHint(providerId: string, url: string, target: string): string {
  let host = url;
  try {
    host = new URL(url).hostname;
  } catch { /* keep the URL as given */ }
  return `deepstudio runs in a container, where ${host} is the container itself: use ${target} instead (Docker Desktop). On Linux also add extra_hosts: ["host.docker.internal:host-gateway"] and ${
    listenStep(providerId)
  }, or use the host's LAN IP.`;
}
