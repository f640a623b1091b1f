/**
 * The Library's part of `deno task bench`: indexing throughput and hybrid search latency, measured
 * by the Library's own code through one hook so the benchmark never reaches into its internals.
 *
 * Contract: a module `lib/library/bench_hook.ts` exporting
 * `benchLibrary(opts: { chunks: number; dims: number }): Promise<LibraryBench>`, which builds an
 * index of `opts.chunks` synthetic chunks in a temporary directory, searches it and cleans up.
 * Until that module exists the report says so instead of printing a number.
 */
import { ROOT } from "./bench_util.ts";

/** What the Library's hook reports. */
export interface LibraryBench {
  chunks: number;
  dims: number;
  /** Chunks indexed per second, excluding embedding calls. */
  indexChunksPerS: number;
  searchP50Ms: number;
  searchP99Ms: number;
  /** RSS after the index was built, MB. */
  rssMb?: number;
  /** Anything else the hook wants in the table. */
  notes?: string[];
}

const HOOK = "lib/library/bench_hook.ts";

/** Runs the hook if the Library provides one; null (with the reason) when it does not. */
export async function measureLibrary(
  opts = { chunks: 100_000, dims: 768 },
): Promise<{ result: LibraryBench | null; note: string }> {
  const url = new URL(HOOK, ROOT);
  try {
    await Deno.stat(url);
  } catch {
    return { result: null, note: `not measured: this build has no \`${HOOK}\`` };
  }
  const specifier = url.href; // not a literal: the hook is optional
  const mod = await import(specifier) as {
    benchLibrary?: (o: typeof opts) => Promise<LibraryBench>;
  };
  if (typeof mod.benchLibrary !== "function") {
    return { result: null, note: `not measured: \`${HOOK}\` exports no \`benchLibrary\`` };
  }
  return { result: await mod.benchLibrary(opts), note: "" };
}
