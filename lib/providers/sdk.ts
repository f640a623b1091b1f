/**
 * The openai SDK, never part of start-up: it is the largest module deepstudio could load (about
 * 24 MB of resident memory once parsed, measured by importing it alone; docs/benchmarks.md shows
 * the idle RSS), and completions, the /v1 gateway, the pages and the status probe all speak HTTP
 * through `fetch` without it. Code that wants the SDK gets it from `loadSdk()` on first need;
 * `deno compile` still embeds it (the specifier is a literal).
 */
type Sdk = typeof import("openai");

let loaded: Sdk | null = null;
let loading: Promise<Sdk> | null = null;

/** The SDK, importing it on first call. */
export function loadSdk(): Promise<Sdk> {
  loading ??= import("openai").then((m) => loaded = m);
  return loading;
}

/**
 * The SDK if something already loaded it, else null. Error mapping uses this: an error can only
 * be an SDK error class if the SDK was loaded to throw it.
 */
export function loadedSdk(): Sdk | null {
  return loaded;
}
