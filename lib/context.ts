/**
 * What `createApp` is given and what every route factory receives. Nothing in deepstudio reads
 * globals (Deno.env, the clock, fetch): tests build a context with `:memory:` KV and a fake clock.
 */
import type { AppConfig } from "./config.ts";
import type { SignInThrottle } from "./http/throttle.ts";
import type { SettingsStore } from "./settings/store.ts";

/** Dependencies a caller supplies to build the app. */
export interface AppDeps {
  kv: Deno.Kv;
  /** Environment for `LDR_*` overrides (defaults to none). */
  env?: Record<string, string | undefined>;
  config?: Partial<AppConfig>;
  fetch?: typeof fetch;
  /**
   * The /v1 relay's client for streamed chat requests. Default: the raw HTTP/1.1 client of
   * lib/providers/http1_client.ts for http:// upstreams (fetch for the rest) when `fetch` is not
   * given, else that `fetch` (a test's fake sees every request).
   */
  upstream?: typeof fetch;
  now?: () => number;
  /** Aborted at shutdown: streams end and runs stop cleanly. */
  shutdown?: AbortSignal;
  /** Where operational messages go (never secrets). */
  log?: (message: string) => void;
  /** Throttle of wrong access tokens (default: lib/http/throttle.ts on `now`). */
  signIn?: SignInThrottle;
}

/** The resolved context shared by routes and services. */
export interface AppContext {
  kv: Deno.Kv;
  config: AppConfig;
  settings: SettingsStore;
  fetch: typeof fetch;
  /** See `AppDeps.upstream`. */
  upstream: typeof fetch;
  now: () => number;
  shutdown: AbortSignal;
  log: (message: string) => void;
  version: string;
  /** Per-address throttle of wrong access tokens (sign-in form and bearer tokens). */
  signIn: SignInThrottle;
}
