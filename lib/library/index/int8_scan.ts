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

/** Core opcodes used here (WebAssembly core specification, binary format of instructions). */
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Shl: 0x74,
  simdPrefix: 0xfd,
} as const;

/** SIMD opcodes, each written after `OP.simdPrefix` as an unsigned LEB128. */
const SIMD_OP = {
  v128Load: 0x00,
  v128Const: 0x0c,
  i32x4ExtractLane: 0x1b,
  i32x4ExtaddPairwiseI16x8S: 0x7e,
  i16x8Add: 0x8e,
  i16x8ExtmulLowS: 0x9c,
  i16x8ExtmulHighS: 0x9d,
  i32x4Add: 0xae,
} as const;

/** Value types and the empty block type. */
const i32 = 0x7f;
const v128 = 0x7b;
const EMPTY_BLOCK = 0x40;

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

/** Signed LEB128, the encoding of `i32.const` immediates. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40));
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

const simd = (op: number) => [OP.simdPrefix, ...uleb(op)];
const get = (i: number) => [OP.localGet, i];
const set = (i: number) => [OP.localSet, i];
const tee = (i: number) => [OP.localTee, i];
const i32Const = (n: number) => [OP.i32Const, ...sleb(n)];
/** v128.load (align 0) of 16 bytes at local `ptr` + local J + a constant byte offset. */
const load = (ptr: number, offset: number) => [
  ...get(ptr),
  ...get(J),
  OP.i32Add,
  ...simd(SIMD_OP.v128Load),
  0,
  ...uleb(offset),
];

// Parameters: 0 q (query bytes), 1 base (first row), 2 n (rows), 3 stride (bytes per row, a
// multiple of ROW_ALIGN), 4 out (n int32 results). Locals: 5 r, 6 j, 7 p (row pointer), 8 acc,
// 9 a, 10 b.
const [Q, BASE, N, STRIDE, OUT, R, J, P, ACC, A, B] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** The closing half of a counted loop: local += step; continue while local < limit. */
function countUp(local: number, step: number[], limit: number): number[] {
  return [...get(local), ...step, OP.i32Add, ...tee(local), ...get(limit), OP.i32LtU, OP.brIf, 0];
}

/** acc += Σ a[i]·b[i] over 16 int8 lanes (two products of ±127 fit an int16 lane). */
function step(offset: number): number[] {
  const product = (half: number) => [...get(A), ...get(B), ...simd(half)];
  return [
    ...load(P, offset),
    ...set(A),
    ...load(Q, offset),
    ...set(B),
    ...get(ACC),
    ...product(SIMD_OP.i16x8ExtmulLowS),
    ...product(SIMD_OP.i16x8ExtmulHighS),
    ...simd(SIMD_OP.i16x8Add),
    ...simd(SIMD_OP.i32x4ExtaddPairwiseI16x8S),
    ...simd(SIMD_OP.i32x4Add),
    ...set(ACC),
  ];
}

/** acc.lane0 + acc.lane1 + acc.lane2 + acc.lane3, left on the stack. */
const laneSum = [0, 1, 2, 3].flatMap((lane) => [
  ...get(ACC),
  ...simd(SIMD_OP.i32x4ExtractLane),
  lane,
  ...(lane ? [OP.i32Add] : []),
]);

/**
 * for (r = 0, p = base; r < n; r++, p += stride) {
 *   acc = 0; for (j = 0; j < stride; j += 64) acc += dot16(p+j) + dot16(p+j+16) + …;
 *   out[r] = acc.lane0 + acc.lane1 + acc.lane2 + acc.lane3;
 * }
 */
const body = [
  OP.block,
  EMPTY_BLOCK,
  ...get(N),
  OP.i32Eqz,
  OP.brIf,
  0, // nothing to do
  ...get(BASE),
  ...set(P),
  OP.loop,
  EMPTY_BLOCK, // rows
  ...simd(SIMD_OP.v128Const),
  ...new Array(16).fill(0),
  ...set(ACC),
  ...i32Const(0),
  ...set(J),
  OP.loop,
  EMPTY_BLOCK, // bytes of a row
  ...[0, 16, 32, 48].flatMap(step),
  ...countUp(J, i32Const(ROW_ALIGN), STRIDE),
  OP.end,
  // out + r * 4
  ...get(OUT),
  ...get(R),
  ...i32Const(2),
  OP.i32Shl,
  OP.i32Add,
  ...laneSum,
  OP.i32Store,
  2,
  0, // align=4 offset=0
  ...get(P),
  ...get(STRIDE),
  OP.i32Add,
  ...set(P),
  ...countUp(R, i32Const(1), N), // next row
  OP.end, // loop
  OP.end, // block
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
