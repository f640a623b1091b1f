/**
 * The one way deepstudio fetches a URL it did not configure itself (search results, the
 * Library's URL import). Rules, with their reasons, in docs/safe_fetching.md: http(s) only, no
 * credentials in the URL, the host resolved and every address checked (loopback, private,
 * link-local, unspecified, CGNAT, ULA, multicast and the IPv6 forms carrying those are refused
 * unless `allowPrivate`), the connection made to the address that was checked (`tunnel.ts`), at
 * most 5 redirects each checked again, a deadline over the whole exchange, a size cap enforced
 * while the body streams, and an HTML/text/PDF content-type check.
 */
import { FailureError } from "../failure_error.ts";
import { ADDRESS_CLASS_LABELS, classifyAddress } from "./ip.ts";
import { type PinnedClient, pinnedClient } from "./tunnel.ts";
import { readCapped } from "./read_capped.ts";

/** Content types a page may have, by default. */
export const PAGE_TYPES = [
  "text/html",
  "application/xhtml+xml",
  "text/plain",
  "text/markdown",
  "application/pdf",
] as const;

/** Defaults: 2 MiB, 20 s, 5 redirects. */
export const SAFE_FETCH_DEFAULTS = {
  maxBytes: 2 * 1024 * 1024,
  timeoutMs: 20_000,
  maxRedirects: 5,
};

/** How a fetch may behave. */
export interface SafeFetchOptions {
  /** Allow loopback/private/link-local targets (`search.allow_private_urls`). */
  allowPrivate?: boolean;
  maxBytes?: number;
  /** Deadline for the whole exchange: every redirect and the body. */
  timeoutMs?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Accepted content types (lower-case, no parameters). */
  accept?: readonly string[];
  /**
   * Host names fetched even when they resolve to private addresses (the user's own engine or
   * intranet hosts). Matched exactly against the URL's host name, redirects included.
   */
  allowHosts?: readonly string[];
  /** Host → addresses. Default: A and AAAA through `Deno.resolveDns`. Tests map names here. */
  resolve?: (host: string) => Promise<string[]>;
  /** Extra trusted roots (tests with their own CA). */
  caCerts?: string[];
}

/** A fetched page: bytes within the cap, its type, and where it really came from. */
export interface FetchedPage {
  requestedUrl: string;
  /** After redirects. */
  url: string;
  status: number;
  /** Lower-case, without parameters, e.g. "text/html". */
  contentType: string;
  charset: string | null;
  bytes: Uint8Array;
  redirects: string[];
  /** The checked address the last request was sent to (null when unpinned, see docs). */
  address: string | null;
}

/** Why a fetch failed. */
export type FetchFailureKind =
  | "invalid_url"
  | "blocked"
  | "dns"
  | "connection"
  | "timeout"
  | "cancelled"
  | "too_large"
  | "unsupported_type"
  | "http_status"
  | "too_many_redirects";

/** A typed fetch failure with a message naming the URL and a hint saying what to do. */
export interface FetchFailure {
  kind: FetchFailureKind;
  url: string;
  message: string;
  hint: string;
  status?: number;
  address?: string;
}

/** Thrown by `safeFetch`; `failure` is the typed error. */
export class SafeFetchError extends FailureError<FetchFailure> {
  override name = "SafeFetchError";
}

function fail(kind: FetchFailureKind, url: string, message: string, hint: string, extra = {}) {
  return new SafeFetchError({ kind, url, message, hint, ...extra });
}

const PRIVATE_HINT =
  "deepstudio does not fetch addresses on your machine or network unless allowed: turn on " +
  "'Fetch private addresses' (search.allow_private_urls) if you trust this source.";

/** Resolves A and AAAA records; a name with neither is a `dns` failure. */
export async function resolveHost(host: string): Promise<string[]> {
  const [a, aaaa] = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  const out = [
    ...(a.status === "fulfilled" ? a.value : []),
    ...(aaaa.status === "fulfilled" ? aaaa.value : []),
  ];
  if (out.length === 0) {
    const reason = a.status === "rejected" ? String((a.reason as Error)?.message ?? a.reason) : "";
    throw new Error(reason || "no A or AAAA records");
  }
  return out;
}

interface Target {
  url: URL;
  /** Pinned address, or null when private targets are allowed and the system must resolve. */
  address: string | null;
}

/** Checks one URL (the first or a redirect's) and picks the address to connect to. */
async function checkUrl(raw: string, opts: SafeFetchOptions): Promise<Target> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fail("invalid_url", raw, `"${raw.slice(0, 200)}" is not a URL`, "Use an http(s) URL.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fail(
      "invalid_url",
      raw,
      `${url.protocol} URLs are not fetched`,
      "Only http and https pages can be read.",
    );
  }
  if (url.username || url.password) {
    throw fail(
      "invalid_url",
      url.href,
      "URLs with a user name or password are not fetched",
      "Remove the credentials from the URL.",
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const literal = classifyAddress(host);
  let addresses: string[];
  if (literal !== null) addresses = [host];
  else if (host === "localhost" || host.endsWith(".localhost")) addresses = ["127.0.0.1"];
  else {
    try {
      addresses = await (opts.resolve ?? resolveHost)(host);
    } catch (err) {
      // With private targets allowed, names only the system resolver knows (/etc/hosts,
      // host.docker.internal) still work: fetch resolves them, unpinned.
      if (opts.allowPrivate) return { url, address: null };
      throw fail(
        "dns",
        url.href,
        `Could not resolve ${host}: ${(err as Error)?.message ?? err}`,
        "Check the address, or your network's DNS.",
      );
    }
  }
  if (!opts.allowPrivate && !opts.allowHosts?.includes(host)) {
    // Every answer must be public: a name that also resolves to 127.0.0.1 is refused rather
    // than trusting which answer is used.
    for (const a of addresses) {
      const cls = classifyAddress(a) ?? "reserved";
      if (cls !== "public") {
        throw fail(
          "blocked",
          url.href,
          `${url.host} resolves to ${a}, ${ADDRESS_CLASS_LABELS[cls]}; not fetched`,
          PRIVATE_HINT,
          { address: a },
        );
      }
    }
  }
  return { url, address: addresses[0] };
}

function mediaType(header: string | null): { type: string; charset: string | null } {
  if (!header) return { type: "", charset: null };
  const [type, ...params] = header.split(";");
  const cs = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith("charset="));
  return {
    type: type.trim().toLowerCase(),
    charset: cs ? cs.slice(8).replace(/^"|"$/g, "").trim() : null,
  };
}

function tooLarge(url: string, max: number): SafeFetchError {
  return fail(
    "too_large",
    url,
    `${url} is larger than ${Math.round(max / 1024)} KiB; not read`,
    "Large pages are skipped; the search snippet still counts.",
  );
}

/** Fetches `raw` under the rules above; throws `SafeFetchError` with a typed failure. */
export async function safeFetch(raw: string, opts: SafeFetchOptions = {}): Promise<FetchedPage> {
  const max = opts.maxBytes ?? SAFE_FETCH_DEFAULTS.maxBytes;
  const maxRedirects = opts.maxRedirects ?? SAFE_FETCH_DEFAULTS.maxRedirects;
  const accept = opts.accept ?? PAGE_TYPES;
  const deadline = AbortSignal.timeout(opts.timeoutMs ?? SAFE_FETCH_DEFAULTS.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const redirects: string[] = [];
  let current = raw;
  let pinned: PinnedClient | null = null;
  try {
    for (;;) {
      const target = await checkUrl(current, opts);
      const href = target.url.href;
      pinned?.close();
      pinned = target.address === null ? null : pinnedClient({
        host: target.url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(target.url.port) || (target.url.protocol === "https:" ? 443 : 80),
        address: target.address,
        https: target.url.protocol === "https:",
      }, opts.caCerts);
      let res: Response;
      try {
        res = await fetch(href, {
          redirect: "manual",
          signal,
          headers: {
            "accept": `${accept.join(", ")};q=0.9, */*;q=0.1`,
            "user-agent": "deepstudio (local research; +https://github.com/)",
          },
          ...(pinned ? { client: pinned.client } : {}),
        });
      } catch (err) {
        throw networkFailure(err, href, signal, deadline);
      }
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
        if (redirects.length >= maxRedirects) {
          throw fail(
            "too_many_redirects",
            href,
            `${raw} redirected more than ${maxRedirects} times`,
            "The site redirects in a loop or too often; open it in a browser to see where it goes.",
          );
        }
        current = new URL(res.headers.get("location")!, href).href;
        redirects.push(current);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw fail(
          "http_status",
          href,
          `${href} answered HTTP ${res.status}`,
          res.status === 401 || res.status === 403
            ? "The page needs a login or refuses automated readers; its snippet still counts."
            : "The page could not be read; its snippet still counts.",
          { status: res.status },
        );
      }
      const { type, charset } = mediaType(res.headers.get("content-type"));
      if (!accept.includes(type)) {
        await res.body?.cancel();
        throw fail(
          "unsupported_type",
          href,
          `${href} is ${type || "of no declared type"}, not a readable page`,
          `Only ${accept.join(", ")} are read.`,
        );
      }
      let bytes: Uint8Array | null;
      try {
        bytes = await readCapped(res, max);
      } catch (err) {
        throw networkFailure(err, href, signal, deadline);
      }
      if (bytes === null) throw tooLarge(href, max);
      return {
        requestedUrl: raw,
        url: href,
        status: res.status,
        contentType: type,
        charset,
        bytes,
        redirects,
        address: target.address,
      };
    }
  } finally {
    pinned?.close();
  }
}

function networkFailure(
  err: unknown,
  url: string,
  signal: AbortSignal,
  deadline: AbortSignal,
): SafeFetchError {
  if (deadline.aborted) {
    return fail("timeout", url, `${url} did not answer in time`, "The site is slow; try again.");
  }
  if (signal.aborted) return fail("cancelled", url, `Fetching ${url} was cancelled`, "");
  const detail = (err as { cause?: Error })?.cause?.message ?? (err as Error)?.message ?? "";
  return fail(
    "connection",
    url,
    `Could not connect to ${new URL(url).host}: ${detail.slice(0, 200)}`,
    "The site may be down or unreachable from this machine.",
  );
}
