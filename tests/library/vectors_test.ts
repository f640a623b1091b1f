/** The int8 SIMD scan and the top-k heap behind vector search agree with plain arithmetic. */
import { assertEquals } from "../assert.ts";
import { createInt8Scanner, ROW_ALIGN } from "../../lib/library/index/int8_scan.ts";
import { TopK, VectorMatrix } from "../../lib/library/index/vectors.ts";
import { rng } from "./index_conformance_scale.ts";

Deno.test("int8 scan: every row's dot product equals the scalar sum, extremes included", () => {
  const scanner = createInt8Scanner();
  const stride = 2 * ROW_ALIGN, n = 300;
  scanner.memory.grow(Math.ceil((stride * (n + 1) + 4 * n) / 65536));
  const bytes = new Int8Array(scanner.memory.buffer);
  const rand = rng(9);
  for (let i = 0; i < stride * (n + 1); i++) bytes[i] = Math.floor(rand() * 255) - 127;
  for (let j = 0; j < stride; j++) bytes[stride + j] = bytes[j] = 127; // row 0: the maximum
  for (let j = 0; j < stride; j++) bytes[2 * stride + j] = -127;
  const out = stride * (n + 1);
  scanner.scan(0, stride, n, stride, out);
  const got = new Int32Array(scanner.memory.buffer, out, n);
  for (let r = 0; r < n; r++) {
    let want = 0;
    for (let j = 0; j < stride; j++) want += bytes[j] * bytes[stride * (1 + r) + j];
    assertEquals(got[r], want, `row ${r}`);
  }
  assertEquals(got[0], 127 * 127 * stride);
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
