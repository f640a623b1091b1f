/**
 * The pure decisions behind deepstudio's front door, kept free of Hono so they can be tested
 * exhaustively and reused: which `Host` values may reach us (DNS-rebinding defence), which
 * state-changing requests come from another site (CSRF), how an access token and a session cookie
 * are checked (constant time, the cookie never holds the token itself), and how big a body may be.
 * routes/security.ts wires these into middleware.
 */
import { constantTimeEqual, hmacSha256, sha256, toBase64Url } from "./sha256.ts";

/** A `Host` header split into its parts; `hostname` is lower-case, without brackets or final dot. */
export interface ParsedHost {
  hostname: string;
  port: string;
}

const REG_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Parses a `Host` header (`name`, `name:port`, `1.2.3.4:5`, `[::1]:5`) strictly. Anything else
 * (user info, paths, spaces, several hosts, non-ASCII) gives null, which callers refuse: a
 * permissive parse is how host checks get bypassed (`evil.example@localhost`).
 */
export function parseHost(value: string): ParsedHost | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{0,5}))?$/.exec(value.trim());
  if (!m) return null;
  let hostname = m[1].toLowerCase();
  if (hostname.startsWith("[")) {
    try {
      // The URL parser canonicalises IPv6 (`[0:0::1]` → `[::1]`) and rejects malformed ones.
      hostname = new URL(`http://${hostname}/`).hostname;
    } catch {
      return null;
    }
    return { hostname: hostname.slice(1, -1), port: m[2] ?? "" };
  }
  if (hostname.endsWith(".")) hostname = hostname.slice(0, -1);
  if (!REG_NAME.test(hostname)) return null;
  return { hostname, port: m[2] ?? "" };
}

/**
 * True for names that can only mean this machine: `localhost`, any `*.localhost` (RFC 6761 §6.3
 * reserves the TLD for loopback; Chromium, Firefox and curl resolve it without asking DNS and no
 * public zone can delegate it, so an attacker cannot serve a page under such a name), canonical
 * `127.0.0.0/8` and `::1` (also IPv4-mapped `::ffff:127.x.y.z`). `0.0.0.0` is not loopback:
 * browsers let public pages reach it ("0.0.0.0 day"), so it must not count as ours.
 */
export function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (IPV4.test(h)) return h.startsWith("127.");
  if (h === "::1") return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(h);
  return mapped !== null && mapped[1].padStart(4, "0").startsWith("7f");
}

/** What besides loopback a deployment accepts in `Host`. */
export interface HostPolicy {
  /** `--allowed-hosts` entries: exact names, or `.example.com` for it and its subdomains. */
  allowedHosts: readonly string[];
  /** The `--host` address; accepted too unless it is a wildcard (`0.0.0.0`, `::`). */
  boundHost: string;
}

function normalizeEntry(entry: string): string {
  const e = entry.trim().toLowerCase();
  if (e.startsWith(".")) return e.replace(/\.$/, "");
  return parseHost(e)?.hostname ?? e.replace(/^\[|\]$/g, "");
}

/**
 * The DNS-rebinding check. A page on `evil.example` whose DNS later points at 127.0.0.1 talks to
 * us with `Host: evil.example:5000`; refusing every name we were not told about defeats it.
 * The port is ignored on purpose: Docker port mapping and reverse proxies change it.
 */
export function isAllowedHost(hostHeader: string, policy: HostPolicy): boolean {
  const parsed = parseHost(hostHeader);
  if (!parsed) return false;
  const { hostname } = parsed;
  if (isLoopbackName(hostname)) return true;
  const bound = normalizeEntry(policy.boundHost);
  if (bound !== "" && bound !== "0.0.0.0" && bound !== "::" && bound === hostname) return true;
  for (const raw of policy.allowedHosts) {
    const entry = normalizeEntry(raw);
    if (entry === "") continue;
    if (entry.startsWith(".")) {
      if (hostname === entry.slice(1) || hostname.endsWith(entry)) return true;
    } else if (entry === hostname) return true;
  }
  return false;
}

/** GET, HEAD and OPTIONS never change state; every other method (unknown ones too) may. */
export function isStateChanging(method: string): boolean {
  const m = method.toUpperCase();
  return m !== "GET" && m !== "HEAD" && m !== "OPTIONS";
}

/** The headers a browser uses to say where a request came from. */
export interface RequestSite {
  method: string;
  /** The request's own `Host` (what the browser addressed). */
  host: string;
  origin: string | null;
  secFetchSite: string | null;
}

/**
 * The CSRF check for state-changing requests: null when allowed, else the reason.
 *
 * - `Sec-Fetch-Site` (sent by every current browser, not forgeable by pages) must be
 *   `same-origin` or `none` (typed by the user); `same-site` is refused too, because another
 *   port on localhost is the same site but a different program.
 * - `Origin`, when present and not `null`, must name our own host and port. The scheme is not
 *   compared so a TLS-terminating proxy (https outside, http inside) works.
 * - `Origin: null` passes only with `Sec-Fetch-Site: same-origin`: with `Referrer-Policy:
 *   no-referrer` browsers send `null` even for our own forms and fetches, while sandboxed frames
 *   and `file:` pages (also `null`) are cross-site.
 * - No `Origin` and no `Sec-Fetch-Site`: not a browser (curl, SDKs); allowed, since CSRF needs a
 *   browser carrying ambient credentials.
 */
export function crossSiteReason(req: RequestSite): string | null {
  if (!isStateChanging(req.method)) return null;
  const site = req.secFetchSite?.trim().toLowerCase() ?? null;
  if (site !== null && site !== "same-origin" && site !== "none") {
    return `the browser marked it Sec-Fetch-Site: ${site.slice(0, 40)}`;
  }
  const origin = req.origin?.trim() ?? null;
  if (origin === null || origin === "") return null;
  if (origin === "null") {
    return site === "same-origin" ? null : "it came from an opaque origin (Origin: null)";
  }
  let originHost: ParsedHost | null = null;
  try {
    const u = new URL(origin);
    if (u.protocol === "http:" || u.protocol === "https:") originHost = parseHost(u.host);
  } catch { /* unparseable origin */ }
  const own = parseHost(req.host);
  if (!originHost || !own) return `it came from ${printable(origin)}`;
  const ownPort = own.port === "" ? defaultPortFor(origin) : own.port;
  const theirPort = originHost.port === "" ? defaultPortFor(origin) : originHost.port;
  if (originHost.hostname === own.hostname && theirPort === ownPort) return null;
  return `it came from ${printable(origin)}`;
}

function defaultPortFor(origin: string): string {
  return origin.toLowerCase().startsWith("https:") ? "443" : "80";
}

/** Untrusted header text made safe to quote in a message (bounded, no control characters). */
export function printable(value: string, max = 120): string {
  // deno-lint-ignore no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** True for JSON media types (`application/json`, `application/*+json`), parameters ignored. */
export function isJsonContentType(contentType: string | null): boolean {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** `/api/**` and `/v1/**`: JSON APIs (token-protected, no-store, JSON error shape). */
export function isApiPath(path: string): boolean {
  return path === "/api" || path.startsWith("/api/") || path === "/v1" || path.startsWith("/v1/");
}

/** Paths reachable without the access token: the health check, sign-in/out, static assets. */
export function isOpenPath(path: string): boolean {
  return path === "/api/health" || path === "/login" || path === "/logout" ||
    path.startsWith("/static/");
}

/** Largest body any route accepts (JSON bodies are also capped by readJson). */
export const MAX_BODY = 64 * 1024;
/** Largest body on the OpenAI-compatible gateway, whose chat requests carry whole contexts. */
export const MAX_GATEWAY_BODY = 8 * 1024 * 1024;

/** `/v1/**`: the OpenAI-compatible gateway, whose clients expect OpenAI's error fields. */
export function isGatewayPath(path: string): boolean {
  return path === "/v1" || path.startsWith("/v1/");
}

/** Largest multipart upload of Library documents (several files of up to 50 MiB each). */
export const MAX_UPLOAD_BODY = 128 * 1024 * 1024;

/** `POST /api/collections/{id}/documents`: the one route that takes multipart uploads. */
export function isUploadPath(path: string): boolean {
  return /^\/api\/collections\/[^/]+\/documents\/?$/.test(path);
}

/** True for `multipart/form-data`, parameters ignored. */
export function isMultipartContentType(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0].trim().toLowerCase() === "multipart/form-data";
}

/** The body size cap for a path. */
export function bodyLimitFor(path: string): number {
  return isGatewayPath(path) ? MAX_GATEWAY_BODY : isUploadPath(path) ? MAX_UPLOAD_BODY : MAX_BODY;
}

/**
 * Compares a presented token with the real one in constant time: both are hashed first, so the
 * comparison covers equal-length digests and leaks neither content nor length.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  return constantTimeEqual(sha256(presented), sha256(expected)) && expected !== "";
}

/**
 * The token from `Authorization: Bearer <token>`: null when there is no header, "" when there is
 * one that is not a well-formed bearer credential (callers then treat it as a wrong token).
 */
export function bearerToken(authorization: string | null): string | null {
  if (authorization === null) return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1] : "";
}

/** How long a sign-in lasts. */
export const SESSION_TTL_SECONDS = 30 * 24 * 60 * 60;
const SESSION_LABEL = "deepstudio session v1";

function sessionMac(token: string, expires: number): string {
  return toBase64Url(hmacSha256(token, `${SESSION_LABEL}|${expires}`));
}

/**
 * The session cookie's value: `v1.<expiry seconds>.<HMAC-SHA256(token, label|expiry)>`. It proves
 * the holder knew the token without containing it, expires on the server's clock, and every
 * session ends when the token changes (the key changes).
 */
export function sessionCookieValue(token: string, nowMs: number): string {
  const expires = Math.floor(nowMs / 1000) + SESSION_TTL_SECONDS;
  return `v1.${expires}.${sessionMac(token, expires)}`;
}

/** True when `value` is an unexpired session made with `token`. Constant time in the MAC. */
export function verifySessionCookie(token: string, value: string, nowMs: number): boolean {
  if (token === "") return false;
  const m = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const expires = Number(m[1]);
  const now = Math.floor(nowMs / 1000);
  if (expires <= now || expires > now + SESSION_TTL_SECONDS) return false;
  // Both are 43 base64url characters: comparing the text compares the MACs.
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(m[2]), encoder.encode(sessionMac(token, expires)));
}

/**
 * The session cookie's name. It carries the port because browsers share cookies across the ports
 * of one host: two deepstudio instances on localhost must not overwrite each other's sign-in.
 */
export function sessionCookieName(hostHeader: string): string {
  const port = parseHost(hostHeader)?.port ?? "";
  return port ? `deepstudio_session_${port}` : "deepstudio_session";
}

/**
 * Where to go after signing in: only a local absolute path (`/x`), never `//host`, `/\host` or
 * a scheme, so the login form cannot be turned into an open redirect.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(next) || next.length > 2048) return "/";
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/logout")) return "/";
  return next;
}

/** The Content-Security-Policy every response carries (island props are inert JSON, not script). */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The headers every response carries, lowercase, precomputed once (what hono's secureHeaders
 * sends with this app's options: no HSTS, which would pin every subdomain of a proxy's domain to
 * https while deepstudio is usually plain http; no COEP; frames refused).
 */
export const SECURE_HEADERS: readonly (readonly [string, string])[] = [
  ["cross-origin-resource-policy", "same-origin"],
  ["cross-origin-opener-policy", "same-origin"],
  ["origin-agent-cluster", "?1"],
  ["referrer-policy", "no-referrer"],
  ["x-content-type-options", "nosniff"],
  ["x-dns-prefetch-control", "off"],
  ["x-download-options", "noopen"],
  ["x-frame-options", "DENY"],
  ["x-permitted-cross-domain-policies", "none"],
  ["x-xss-protection", "0"],
  ["content-security-policy", CSP],
];

/** Responses built by {@link securedResponse}: the front door has nothing left to add. */
const SECURED = new WeakSet<Response>();

/**
 * An API response that leaves with the secure headers and `cache-control: no-store` already in
 * its init, which is what routes/security.ts's outermost middleware would add afterwards: built
 * once, every header value is validated once and Deno prepares its native response once, instead
 * of a dozen `Headers` edits on a finished Response (the hot /v1 answers, lib/gateway/relay.ts).
 * `headers` is the route's own; the middleware skips what {@link isSecured} reports.
 */
export function securedResponse(
  body: BodyInit | null,
  status: number,
  headers: Record<string, string>,
): Response {
  for (const [name, value] of SECURE_HEADERS) headers[name] = value;
  headers["cache-control"] = "no-store";
  const res = new Response(body, { status, headers });
  SECURED.add(res);
  return res;
}

/** True for a Response built by {@link securedResponse} (its headers are final). */
export function isSecured(res: Response): boolean {
  return SECURED.has(res);
}
