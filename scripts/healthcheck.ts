/**
 * The container's HEALTHCHECK: one GET of /api/health over loopback with deno itself, because
 * the Deno image has no curl or wget. Exit status 0 means healthy, 1 unhealthy (Docker's rule).
 * The access token, when set, goes along as a bearer token so the check works whether or not the
 * API asks for it on /api/health.
 */

/** The URL to probe: the configured port on loopback (a wildcard bind listens there too). */
export function healthUrl(env: Record<string, string | undefined>): string {
  const host = env.DEEPSTUDIO_HOST?.trim() || "127.0.0.1";
  const wildcard = host === "0.0.0.0" || host === "::" || host === "[::]";
  const target = wildcard
    ? "127.0.0.1"
    : host.includes(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  return `http://${target}:${env.DEEPSTUDIO_PORT?.trim() || "5000"}/api/health`;
}

/** Probes once; resolves with the exit status and the line to print. */
export async function check(
  env: Record<string, string | undefined>,
): Promise<{ code: 0 | 1; message: string }> {
  const url = healthUrl(env);
  const token = env.DEEPSTUDIO_ACCESS_TOKEN ?? "";
  try {
    const res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(4000),
    });
    const body = await res.text();
    if (res.ok && JSON.parse(body)?.status === "ok") {
      return { code: 0, message: `healthy: ${body}` };
    }
    return { code: 1, message: `unhealthy: ${url} answered ${res.status} ${body.slice(0, 200)}` };
  } catch (e) {
    return { code: 1, message: `unhealthy: ${url}: ${(e as Error).message}` };
  }
}

if (import.meta.main) {
  const env = {
    DEEPSTUDIO_HOST: Deno.env.get("DEEPSTUDIO_HOST"),
    DEEPSTUDIO_PORT: Deno.env.get("DEEPSTUDIO_PORT"),
    DEEPSTUDIO_ACCESS_TOKEN: Deno.env.get("DEEPSTUDIO_ACCESS_TOKEN"),
  };
  const { code, message } = await check(env);
  (code === 0 ? console.log : console.error)(message);
  Deno.exit(code);
}
