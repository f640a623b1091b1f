/**
 * The app's one Library, built on first use from the app context: its directory beside the KV
 * file (a temporary one for `:memory:` KV, which keeps nothing either), the folder roots from
 * `--library-roots`, and URL imports through the SSRF-safe fetcher with the current settings.
 */
import { joinPath, parentDir } from "../config.ts";
import type { AppContext } from "../context.ts";
import { PAGE_TYPES, safeFetch } from "../net/safe_fetch.ts";
import { providerServiceFor } from "../providers/service.ts";
import { DEFAULT_MAX_DOCUMENT_BYTES } from "../extract/types.ts";
import { createLibraryService, type LibraryService } from "./service.ts";

const SERVICES = new WeakMap<AppContext, LibraryService>();

/** The Library's directory for a configuration. */
export function libraryDirFor(ctx: AppContext): string {
  if (ctx.config.libraryDir) return ctx.config.libraryDir;
  if (ctx.config.kvPath === ":memory:") {
    return Deno.makeTempDirSync({ prefix: "deepstudio-library-" });
  }
  return joinPath([parentDir(ctx.config.kvPath), "library"]);
}

/** The app's Library (created lazily: nothing is opened until the Library is used). */
export function libraryServiceFor(ctx: AppContext): LibraryService {
  let service = SERVICES.get(ctx);
  if (!service) {
    service = createLibraryService({
      kv: ctx.kv,
      dir: libraryDirFor(ctx),
      roots: ctx.config.libraryRoots ?? [],
      providers: providerServiceFor(ctx),
      now: ctx.now,
      log: ctx.log,
      shutdown: ctx.shutdown,
      leaseMs: ctx.config.runLeaseMs,
      resumePollMs: ctx.config.libraryResumePollMs,
      async fetchUrl(url, signal) {
        const settings = (await ctx.settings.get()).values;
        const page = await safeFetch(url, {
          allowPrivate: settings["search.allow_private_urls"],
          maxBytes: DEFAULT_MAX_DOCUMENT_BYTES,
          timeoutMs: 60_000,
          accept: PAGE_TYPES,
          signal,
        });
        return { url: page.url, bytes: page.bytes, contentType: page.contentType };
      },
    });
    SERVICES.set(ctx, service);
  }
  return service;
}
