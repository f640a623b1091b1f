/**
 * `deno task bench`'s view of the Library (scripts/bench_library.ts): builds an index of
 * synthetic chunks (clustered 768-d vectors, text from a Zipf-like vocabulary) through the real
 * index code, then times hybrid searches (vector + keyword, as /api/search runs them), and PDF
 * extraction of a generated 100-page PDF. Numbers come only from this run.
 */
import { openSqliteIndex } from "./index/sqlite.ts";
import type { ChunkRecord } from "./index/types.ts";
import { extractDocument } from "../extract/extract.ts";
// The bench script owns the report's shape (type only: nothing of scripts/ runs in the app).
import type { LibraryBench } from "../../scripts/bench_library.ts";

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function pdfPagesPerSecond(): Promise<number | null> {
  try {
    const { PDFDocument, StandardFonts } = await import("pdf-lib");
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let p = 1; p <= 100; p++) {
      const page = doc.addPage();
      for (let l = 0; l < 40; l++) {
        page.drawText(`Page ${p} line ${l}: words about the benchmark and its data.`, {
          x: 40,
          y: 760 - l * 18,
          size: 10,
          font,
        });
      }
    }
    const bytes = await doc.save();
    const t = performance.now();
    await extractDocument("bench.pdf", bytes);
    return 100 / ((performance.now() - t) / 1000);
  } catch {
    return null; // pdf-lib is a test dependency; without it the row says so
  }
}

/** Builds, searches and removes a synthetic index. */
export async function benchLibrary(opts: { chunks: number; dims: number }): Promise<LibraryBench> {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-bench-library-" });
  const index = await openSqliteIndex(dir);
  try {
    const space = await index.space("bench", opts.dims);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const words = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);
    const centers = Array.from(
      { length: 64 },
      () => Float32Array.from({ length: opts.dims }, () => rnd() - 0.5),
    );
    const make = (i: number): ChunkRecord => {
      const c = centers[i % 64];
      const vector = new Float32Array(opts.dims);
      for (let j = 0; j < opts.dims; j++) vector[j] = c[j] + (rnd() - 0.5) * 0.5;
      const text = Array.from({ length: 100 }, () => words[Math.floor(rnd() ** 2 * words.length)])
        .join(" ");
      const doc = `d${Math.floor(i / 64)}`;
      return {
        id: `${doc}:${i % 64}`,
        collectionId: "bench",
        documentId: doc,
        ord: i % 64,
        text,
        page: null,
        heading: null,
        start: 0,
        end: text.length,
        vector,
      };
    };
    const started = performance.now();
    for (let s = 0; s < opts.chunks; s += 512) {
      await space.add(
        Array.from({ length: Math.min(512, opts.chunks - s) }, (_, k) => make(s + k)),
      );
    }
    await space.optimize();
    const indexSeconds = (performance.now() - started) / 1000;
    // The first search loads the space's vectors into memory: reported on its own.
    const warm = performance.now();
    await space.search({ vector: make(1).vector, text: "w1 w2", k: 10 });
    const firstMs = performance.now() - warm;
    const times: number[] = [];
    for (let q = 0; q < 60; q++) {
      const probe = make((q * 7919) % opts.chunks);
      const text = probe.text.split(" ").slice(3, 7).join(" ");
      const t = performance.now();
      await space.search({ vector: probe.vector, text, k: 10 });
      times.push(performance.now() - t);
    }
    const pdf = await pdfPagesPerSecond();
    return {
      chunks: opts.chunks,
      dims: opts.dims,
      indexChunksPerS: opts.chunks / indexSeconds,
      searchP50Ms: quantile(times, 0.5),
      searchP99Ms: quantile(times, 0.99),
      rssMb: Deno.memoryUsage().rss / 1e6,
      notes: [
        "SQLite (FTS5 + exact cosine, reciprocal rank fusion); index time excludes embedding calls",
        `first search after opening (loads the vectors): ${firstMs.toFixed(0)} ms`,
        pdf === null ? "PDF extraction: not measured" : `PDF extraction: ${pdf.toFixed(0)} pages/s`,
      ],
    };
  } finally {
    await index.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
