/**
 * Server URL handling (docs/providers.md, "Server URLs"). Users paste every variant of an address;
 * we keep one canonical base (origin plus any reverse-proxy prefix, never a trailing `/v1`) so
 * `/v1` is never doubled or dropped, and so LM Studio's 200-on-unknown-route quirk cannot be
 * triggered by a stray slash.
 */

/** Outcome of {@link normalizeBaseUrl}: the canonical base, or a message that says what to fix. */
export type NormalizedUrl = { ok: true; base: string } | { ok: false; message: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Turns what a person typed into the canonical base URL, or explains why it cannot work. */
export function normalizeBaseUrl(input: string): NormalizedUrl {
  const raw = input.trim();
  if (raw === "") return { ok: false, message: "Enter a server URL such as http://localhost:1234" };
  if (/\s/.test(raw)) {
    return {
      ok: false,
      message: `"${raw}" contains spaces; remove them (e.g. http://localhost:1234)`,
    };
  }
  const withScheme = SCHEME.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return {
      ok: false,
      message: `"${raw}" is not a valid URL; use a form like http://localhost:1234`,
    };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return {
      ok: false,
      message: `Only http:// and https:// URLs are supported, not ${url.protocol}//`,
    };
  }
  if (url.username || url.password) {
    return {
      ok: false,
      message: "Remove the user name and password from the URL; put a token in the API key field",
    };
  }
  if (url.search || url.hash) {
    return { ok: false, message: "Remove the query string or fragment (?… or #…) from the URL" };
  }
  if (!url.hostname) return { ok: false, message: `"${raw}" has no host name` };
  let path = url.pathname.replace(/\/{2,}/g, "/").replace(/\/+$/, "");
  path = path.replace(/\/v1$/i, "");
  return { ok: true, base: `${url.protocol}//${url.host}${path}` };
}

/** The OpenAI-compatible root for a canonical base (`<base>/v1`). */
export function openAiBase(base: string): string {
  return `${base}/v1`;
}

/** True when a URL points at this machine's loopback, which means "the container" inside Docker. */
export function isLoopbackUrl(base: string): boolean {
  try {
    const host = new URL(base).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
      /^127\.\d+\.\d+\.\d+$/.test(host) || host === "0.0.0.0";
  } catch {
    return false;
  }
}
