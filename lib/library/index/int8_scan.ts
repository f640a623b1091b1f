/**
 * The hot loop of vector search: the dot product of one int8 query with every int8 row, in
 * WebAssembly SIMD (128-bit lanes, part of the WebAssembly standard since 2021 and on by default
 * in V8, so in Deno, the Docker image and the compiled binary alike). Plain JavaScript cannot use
 * SIMD; this loop does 16 multiply-adds per instruction group and reads a quarter of the bytes a
 * float32 scan reads, which is what brings 100 000 × 768 under the Library's search budget
 * (numbers in docs/decisions/library-index.md).
 *
 * The module is assembled here from its opcodes (the text form is in the comment on `body`), so
 * there is no build step and no binary blob in the repository. Opcode numbers are from the
 * WebAssembly SIMD specification's instruction table.
 */

/** Rows are padded to a multiple of this many bytes (the loop reads 64 bytes per step). */
export const ROW_ALIGN = 64;

const SIMD = 0xfd;
const i32 = 0x7f;
const v128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

const simd = (op: number) => [SIMD, ...uleb(op)];
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
/** v128.load with a constant byte offset. */
const load = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const I16X8_EXTMUL_LOW_S = 0x9c;
const I16X8_EXTMUL_HIGH_S = 0x9d;
const I16X8_ADD = 0x8e;
const I32X4_EXTADD_PAIRWISE_I16X8_S = 0x7e;
const I32X4_ADD = 0xae;
const I32X4_EXTRACT_LANE = 0x1b;

// Parameters: 0 q (query bytes), 1 base (first row), 2 n (rows), 3 stride (bytes per row, a
// multiple of ROW_ALIGN), 4 out (n int32 results). Locals: 5 r, 6 j, 7 p (row pointer), 8 acc,
// 9 a, 10 b.
const [Q, BASE, N, STRIDE, OUT, R, J, P, ACC, A, B] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** acc += Σ a[i]·b[i] over 16 int8 lanes (two products of ±127 fit an int16 lane). */
function step(offset: number): number[] {
  return [
    ...get(P),
    ...get(J),
    0x6a, // i32.add
    ...load(offset),
    ...set(A),
    ...get(Q),
    ...get(J),
    0x6a,
    ...load(offset),
    ...set(B),
    ...get(ACC),
    ...get(A),
    ...get(B),
    ...simd(I16X8_EXTMUL_LOW_S),
    ...get(A),
    ...get(B),
    ...simd(I16X8_EXTMUL_HIGH_S),
    ...simd(I16X8_ADD),
    ...simd(I32X4_EXTADD_PAIRWISE_I16X8_S),
    ...simd(I32X4_ADD),
    ...set(ACC),
  ];
}

/**
 * for (r = 0, p = base; r < n; r++, p += stride) {
 *   acc = 0; for (j = 0; j < stride; j += 64) acc += dot16(p+j) + dot16(p+j+16) + …;
 *   out[r] = acc.lane0 + acc.lane1 + acc.lane2 + acc.lane3;
 * }
 */
const body = [
  0x02,
  0x40, // block
  ...get(N),
  0x45, // i32.eqz
  0x0d,
  0, // br_if 0 (nothing to do)
  ...get(BASE),
  ...set(P),
  0x03,
  0x40, // loop (rows)
  ...simd(0x0c), // v128.const 0
  ...new Array(16).fill(0),
  ...set(ACC),
  0x41,
  0, // i32.const 0
  ...set(J),
  0x03,
  0x40, // loop (bytes of a row)
  ...step(0),
  ...step(16),
  ...step(32),
  ...step(48),
  ...get(J),
  0x41,
  ...[0xc0, 0x00], // i32.const 64 (signed LEB128)
  0x6a,
  ...tee(J),
  ...get(STRIDE),
  0x49, // i32.lt_u
  0x0d,
  0, // br_if 0
  0x0b, // end
  ...get(OUT),
  ...get(R),
  0x41,
  2,
  0x74, // i32.shl
  0x6a,
  ...get(ACC),
  ...simd(I32X4_EXTRACT_LANE),
  0,
  ...get(ACC),
  ...simd(I32X4_EXTRACT_LANE),
  1,
  0x6a,
  ...get(ACC),
  ...simd(I32X4_EXTRACT_LANE),
  2,
  0x6a,
  ...get(ACC),
  ...simd(I32X4_EXTRACT_LANE),
  3,
  0x6a,
  0x36,
  2,
  0, // i32.store align=4 offset=0
  ...get(P),
  ...get(STRIDE),
  0x6a,
  ...set(P),
  ...get(R),
  0x41,
  1,
  0x6a,
  ...tee(R),
  ...get(N),
  0x49,
  0x0d,
  0, // br_if 0 (next row)
  0x0b, // end loop
  0x0b, // end block
];

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const locals = [2, 3, i32, 3, v128];
  const fn = [...locals, ...body, 0x0b];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0, // "\0asm", version 1
    ...section(1, [1, 0x60, 5, i32, i32, i32, i32, i32, 0]), // type: (5 × i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x00, 1]), // one memory, 1 page minimum, no maximum
    ...section(7, [2, ...name("memory"), 0x02, 0, ...name("scan"), 0x00, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
}

let compiled: WebAssembly.Module | null = null;

/** One scanner with its own linear memory (grown as rows are added). */
export interface Int8Scanner {
  readonly memory: WebAssembly.Memory;
  /** out[r] = Σ query[i]·row_r[i] for n rows of `stride` bytes at `base`. */
  scan(query: number, base: number, n: number, stride: number, out: number): void;
}

/** A fresh scanner (the module is compiled once per process). */
export function createInt8Scanner(): Int8Scanner {
  compiled ??= new WebAssembly.Module(moduleBytes());
  const instance = new WebAssembly.Instance(compiled, {});
  const exports = instance.exports as unknown as {
    memory: WebAssembly.Memory;
    scan: (q: number, base: number, n: number, stride: number, out: number) => void;
  };
  return { memory: exports.memory, scan: exports.scan };
}
