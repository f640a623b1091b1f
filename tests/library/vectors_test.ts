/** The int8 SIMD scan and the top-k heap behind vector search agree with plain arithmetic. */
import { assertEquals } from "../assert.ts";
import { createInt8Scanner, type ScanKernel } from "../../lib/library/index/int8_scan.ts";
import { TopK, VectorMatrix } from "../../lib/library/index/vectors.ts";
import { checkScanner } from "./int8_scan_check.ts";
import { rng } from "./index_conformance_scale.ts";

Deno.test("int8 scan: both kernels give every row's exact sum, extremes included", () => {
  assertEquals(createInt8Scanner().kernel, "relaxed", "V8 in Deno 2.9 has relaxed SIMD");
  for (const kernel of ["relaxed", "portable"] as ScanKernel[]) {
    assertEquals(checkScanner(kernel), [], kernel);
  }
});

Deno.test("int8 scan: exact under V8's other code paths (baseline, optimising, no AVX)", async () => {
  const check = new URL("./int8_scan_check.ts", import.meta.url).pathname;
  for (const flags of ["--liftoff-only", "--no-liftoff", "--no-enable-avx", "--no-enable-avx2"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--v8-flags=${flags}`, check],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assertEquals(out.success, true, `${flags}: ${new TextDecoder().decode(out.stderr)}`);
    assertEquals(JSON.parse(text), { kernels: ["relaxed", "portable"], errors: [] }, flags);
  }
});

/** The int8 quantisation `VectorMatrix` documents, in plain arithmetic. */
function int8(v: Float32Array): { q: number[]; scale: number } {
  const max = Math.max(...v.map(Math.abs));
  const k = 127 / max;
  return { q: [...v].map((x) => Math.floor(x * k + 0.5)), scale: 1 / (k * Math.hypot(...v)) };
}

Deno.test("vector matrix: candidates carry the full int8 dot product's score, whatever the planes", () => {
  const dims = 100, n = 3000, rand = rng(11);
  const m = new VectorMatrix(dims);
  const rows = Array.from(
    { length: n },
    () => Float32Array.from({ length: dims }, () => rand() - 0.5),
  );
  rows.forEach((v, i) => m.append(i + 1, `d${i % 7}`, v));
  for (let t = 0; t < 5; t++) {
    const query = Float32Array.from({ length: dims }, () => rand() - 0.5);
    const qq = int8(query);
    const want = rows.map((v, i) => {
      const r = int8(v);
      let dot = 0;
      for (let j = 0; j < dims; j++) dot += r.q[j] * qq.q[j];
      return { rowid: i + 1, dot, score: dot * r.scale * qq.scale };
    }).sort((a, b) => b.score - a.score);
    for (const count of [10, 160, n]) {
      const got = m.candidates(query, count, null);
      assertEquals(got.length, count);
      // The same rows as a full int8 scan (bar ties at the cut), each with its score.
      assertEquals(
        new Set(got.map((c) => c.rowid)),
        new Set(want.slice(0, count).map((w) => w.rowid)),
      );
      const byRow = new Map(want.map((w) => [w.rowid, w.score]));
      for (const c of got) assertEquals(Math.abs(c.score - byRow.get(c.rowid)!) < 1e-6, true);
    }
  }
});

Deno.test("vector matrix: tight clusters (near neighbours within the estimate's error) lose no candidate", () => {
  const dims = 256, n = 6000, rand = rng(5);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: 6 }, () => Float32Array.from({ length: dims }, gauss));
  const point = () => {
    const c = centres[Math.floor(rand() * centres.length)];
    return Float32Array.from({ length: dims }, (_, j) => c[j] + 0.2 * gauss());
  };
  const rows = Array.from({ length: n }, point);
  const m = new VectorMatrix(dims);
  rows.forEach((v, i) => m.append(i + 1, `d${i % 7}`, v));
  for (let t = 0; t < 5; t++) {
    const query = point();
    const exact = m.candidates(query, n, null); // every row scored exactly
    for (const count of [10, 160]) {
      const got = m.candidates(query, count, null);
      assertEquals(got, exact.slice(0, count), `query ${t}, ${count} candidates`);
    }
  }
});

Deno.test("top-k heap keeps the k largest, best first", () => {
  const rand = rng(3);
  const scores = Array.from({ length: 5000 }, () => rand());
  const heap = new TopK(25);
  scores.forEach((s, i) => heap.offer(i, s));
  const want = scores.map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score).slice(0, 25);
  assertEquals(heap.sorted(), want);
});

Deno.test("vector matrix: removing documents keeps the other rows' candidates intact", () => {
  const m = new VectorMatrix(3);
  m.append(1, "a", Float32Array.of(1, 0, 0));
  m.append(2, "b", Float32Array.of(0, 1, 0));
  m.append(3, "a", Float32Array.of(0.9, 0.1, 0));
  m.append(4, "c", Float32Array.of(0, 0, 2));
  m.removeDocuments(["a"]);
  assertEquals(m.size, 2);
  const c = m.candidates(Float32Array.of(0, 0, 1), 5, null);
  assertEquals(c.map((x) => x.rowid), [4, 2]);
  assertEquals(Math.abs(c[0].score - 1) < 0.01, true);
  assertEquals(m.candidates(Float32Array.of(0, 0, 1), 5, new Set(["b"])).map((x) => x.rowid), [2]);
});
