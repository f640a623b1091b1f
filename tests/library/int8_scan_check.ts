/**
 * The check behind tests/library/vectors_test.ts's scan tests, in a module of its own so the test
 * can also run it in child processes under V8 flags that make V8 emit other machine code for the
 * same WebAssembly (baseline or optimising compiler only, SSE instead of AVX encodings): relaxed
 * SIMD's dot product is only the same on every CPU for operands in its specified range, which is
 * what this checks, with the extremes of both operands.
 */
import {
  createInt8Scanner,
  ROW_ALIGN,
  type ScanKernel,
} from "../../lib/library/index/int8_scan.ts";
import { rng } from "./index_conformance_scale.ts";

/**
 * Runs `scan` and `gather` of `kernel` on 300 rows of every nibble pattern against queries
 * holding -128..127; returns the mismatches as messages (none: the kernel is exact).
 */
export function checkScanner(kernel: ScanKernel): string[] {
  const scanner = createInt8Scanner(kernel);
  const half = 2 * ROW_ALIGN, n = 300, stride = 2 * half; // 256 components
  const out = stride + n * half, idx = out + 4 * n, gathered = idx + 4 * n;
  scanner.memory.grow(Math.ceil((gathered + 4 * n) / 65536));
  const bytes = new Uint8Array(scanner.memory.buffer);
  const query = new Int8Array(scanner.memory.buffer, 0, stride);
  const rand = rng(9);
  for (let j = 0; j < stride; j++) query[j] = j - 128; // every int8 value, -128 and 127 included
  for (let i = stride; i < out; i++) bytes[i] = Math.floor(rand() * 256);
  bytes.fill(0xff, stride, stride + half); // row 0: every nibble 15
  bytes.fill(0x00, stride + half, stride + 2 * half); // row 1: every nibble 0
  const nibble = (r: number, c: number) => {
    const byte = bytes[stride + r * half + (c >> 5) * 16 + (c & 15)];
    return (c & 16) ? byte >> 4 : byte & 15;
  };
  const want = (r: number) => {
    let sum = 0;
    for (let c = 0; c < stride; c++) sum += query[c] * nibble(r, c);
    return sum;
  };
  const errors: string[] = [];
  scanner.scan(0, stride, n, half, out, 0);
  const got = new Int32Array(scanner.memory.buffer, out, n);
  for (let r = 0; r < n; r++) {
    if (got[r] !== want(r)) errors.push(`${kernel} scan row ${r}: ${got[r]} ≠ ${want(r)}`);
  }
  const rows = Int32Array.from({ length: n }, (_, i) => (i * 7919) % n);
  new Int32Array(scanner.memory.buffer, idx, n).set(rows);
  scanner.gather(0, stride, n, half, gathered, idx);
  const g = new Int32Array(scanner.memory.buffer, gathered, n);
  rows.forEach((r, i) => {
    if (g[i] !== want(r)) errors.push(`${kernel} gather ${i} (row ${r}): ${g[i]} ≠ ${want(r)}`);
  });
  // The extremes, independently of `want`: Σ (-128..127) = -128.
  if (got[0] !== 15 * -128 || got[1] !== 0) errors.push(`${kernel} extremes: ${got[0]}, ${got[1]}`);
  return errors;
}

if (import.meta.main) {
  const kernels: ScanKernel[] = [createInt8Scanner().kernel, "portable"];
  console.log(JSON.stringify({ kernels, errors: kernels.flatMap(checkScanner) }));
}
