/**
 * The hot loop of vector search, in WebAssembly SIMD (128-bit lanes, part of the WebAssembly
 * standard and on by default in V8, so in Deno, the Docker image and the compiled binary alike;
 * plain JavaScript cannot use SIMD).
 *
 * Each int8 row component v is held as two 4-bit halves, v = 16·(H − 8) + L with H = (v >> 4) + 8
 * and L = v & 15 (both 0..15), in two planes of packed nibbles (`VectorMatrix`, vectors.ts). At
 * 100 000 × 768 the scan is bound by memory bandwidth, ~7 GB/s for one core here, not by
 * arithmetic: scanning only the H plane (half the bytes) for candidates and the L plane for those
 * few rows alone is what halves the scan (numbers in docs/decisions/library-index.md).
 *
 * Both functions compute, per row, Σ query[i]·nibble[i] exactly in int32 (query bytes int8,
 * nibbles 0..15). Packing, per 32 components from c: byte c/2 + j (j < 16) holds component c + j
 * in its low nibble and c + 16 + j in its high one, so the query is read in its natural order.
 *
 * The module is assembled here from its opcodes, so there is no build step and no binary blob in
 * the repository. Opcode numbers are from the WebAssembly specification's instruction tables.
 */

/** Rows are padded to a multiple of this many components (a loop step reads 64). */
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
  i32Load: 0x28,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32Shl: 0x74,
  simdPrefix: 0xfd,
} as const;

/** SIMD opcodes, each written after `OP.simdPrefix` as an unsigned LEB128. */
const SIMD_OP = {
  v128Load: 0x00,
  v128Const: 0x0c,
  i32x4ExtractLane: 0x1b,
  v128And: 0x4e,
  i8x16ShrU: 0x6d,
  i32x4ExtaddPairwiseI16x8S: 0x7e,
  i16x8Add: 0x8e,
  i16x8ExtmulLowS: 0x9c,
  i16x8ExtmulHighS: 0x9d,
  i32x4Add: 0xae,
  /** Relaxed SIMD (WebAssembly 3.0): per i16 lane, a[2i]·b[2i] + a[2i+1]·b[2i+1]. */
  i16x8RelaxedDotI8x16I7x16S: 0x112,
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

const ops = (...code: number[]) => code;
const simd = (op: number) => [OP.simdPrefix, ...uleb(op)];
const get = (i: number) => [OP.localGet, i];
const set = (i: number) => [OP.localSet, i];
const tee = (i: number) => [OP.localTee, i];
const i32Const = (n: number) => [OP.i32Const, ...sleb(n)];
/** v128.load (align 0) of 16 bytes at local `ptr` + a constant byte offset. */
const load = (
  ptr: number,
  offset: number,
) => [...get(ptr), ...simd(SIMD_OP.v128Load), 0, ...uleb(offset)];

// Parameters (both functions): 0 q (query bytes), 1 base (first row), 2 n (rows), 3 half (bytes
// per row: components / 2, a multiple of ROW_ALIGN / 2), 4 out (n int32 results), 5 idx (n int32
// row numbers; `gather` only). Locals: 6 r, 7 j (end of the row), 8 p (row pointer), 9 k (query
// pointer), 10 acc, 11 w (16 packed bytes), 12 a, 13 b (portable kernel's operands).
const Q = 0, BASE = 1, N = 2, HALF = 3, OUT = 4, IDX = 5, R = 6, J = 7, P = 8, K = 9;
const ACC = 10, W = 11, A = 12, B = 13;

/**
 * A kernel: acc += Σ a[i]·b[i] per i32 lane over the pairs, each an int8 vector `a` and a vector
 * `b` of 0..15, left on the stack by their code.
 */
type Kernel = (pairs: [a: number[], b: number[]][]) => number[];

/**
 * Portable: 2 widening multiplies, an add and a pairwise widening per 16 bytes (a product is at
 * most 128·15, so two fit an int16 lane).
 */
const portable: Kernel = (pairs) =>
  pairs.flatMap(([a, b]) => {
    const product = (half: number) => [...get(A), ...get(B), ...simd(half)];
    return [
      ...a,
      ...set(A),
      ...b,
      ...set(B),
      ...get(ACC),
      ...product(SIMD_OP.i16x8ExtmulLowS),
      ...product(SIMD_OP.i16x8ExtmulHighS),
      ...simd(SIMD_OP.i16x8Add),
      ...simd(SIMD_OP.i32x4ExtaddPairwiseI16x8S),
      ...simd(SIMD_OP.i32x4Add),
      ...set(ACC),
    ];
  });

/**
 * Relaxed SIMD's dot product of pairs into int16 lanes (x64: `pmaddubsw`; arm64: `smull` +
 * `smlal2` or `sdot`), the lanes of 4 pairs added (at most 4 · 2 · 128 · 15 = 15 360, no int16
 * overflow), then widened into acc once. Its result is only specified, and then the same on
 * every CPU, when the second operand's bytes are 0..127 (x64 reads them as unsigned, and a pair
 * of products then stays below int16's saturation): the nibbles are that operand.
 */
const relaxed: Kernel = (pairs) => [
  ...pairs.flatMap(([a, b], i) => [
    ...a,
    ...b,
    ...simd(SIMD_OP.i16x8RelaxedDotI8x16I7x16S),
    ...(i ? simd(SIMD_OP.i16x8Add) : []),
  ]),
  ...simd(SIMD_OP.i32x4ExtaddPairwiseI16x8S),
  ...get(ACC),
  ...simd(SIMD_OP.i32x4Add),
  ...set(ACC),
];

const splat = (byte: number) => [...simd(SIMD_OP.v128Const), ...new Array(16).fill(byte)];
const lowNibbles = [...get(W), ...splat(0x0f), ...simd(SIMD_OP.v128And)];
const highNibbles = [...get(W), ...i32Const(4), ...simd(SIMD_OP.i8x16ShrU)];
/** W = 16 packed bytes, then their low nibbles (the code for pair b). */
const loadLow = (o: number) => [...load(P, o), ...set(W), ...lowNibbles];

/** 32 packed bytes (64 components) at p, against the query's 64 bytes at k. */
const step64 = (kernel: Kernel) =>
  kernel([0, 16].flatMap((o): [number[], number[]][] => [
    [load(K, 2 * o), loadLow(o)],
    [load(K, 2 * o + 16), highNibbles],
  ]));

/** acc.lane0 + acc.lane1 + acc.lane2 + acc.lane3, left on the stack. */
const laneSum = [0, 1, 2, 3].flatMap((lane) => [
  ...get(ACC),
  ...simd(SIMD_OP.i32x4ExtractLane),
  lane,
  ...(lane ? [OP.i32Add] : []),
]);

/** p = address of row r: base + r·half (`scan`), or base + idx[r]·half (`gather`). */
function rowAddress(indexed: boolean): number[] {
  const row = indexed
    ? ops(...get(IDX), ...get(R), ...i32Const(2), OP.i32Shl, OP.i32Add, OP.i32Load, 2, 0)
    : get(R);
  const p = ops(...get(BASE), ...row, ...get(HALF), OP.i32Mul, OP.i32Add, ...tee(P));
  return ops(...p, ...get(HALF), OP.i32Add, ...set(J));
}

/**
 * for (r = 0; r < n; r++) {
 *   p = rowAddress(r); acc = 0;
 *   for (k = q; p < j; p += 32, k += 64) acc += nibbles(p..p+32) · query(k..k+64);
 *   out[r] = acc.lane0 + acc.lane1 + acc.lane2 + acc.lane3;
 * }
 */
const body = (kernel: Kernel, indexed: boolean) => [
  ...ops(OP.block, EMPTY_BLOCK, ...get(N), OP.i32Eqz, OP.brIf, 0), // nothing to do
  ...ops(OP.loop, EMPTY_BLOCK), // rows
  ...rowAddress(indexed),
  ...ops(...splat(0), ...set(ACC), ...get(Q), ...set(K)),
  ...ops(OP.loop, EMPTY_BLOCK), // bytes of a row
  ...step64(kernel),
  ...ops(...get(K), ...i32Const(64), OP.i32Add, ...set(K)),
  ...ops(...get(P), ...i32Const(32), OP.i32Add, ...tee(P), ...get(J), OP.i32LtU, OP.brIf, 0),
  OP.end,
  ...ops(...get(OUT), ...get(R), ...i32Const(2), OP.i32Shl, OP.i32Add), // &out[r]
  ...ops(...laneSum, OP.i32Store, 2, 0), // align=4 offset=0
  ...ops(...get(R), ...i32Const(1), OP.i32Add, ...tee(R), ...get(N), OP.i32LtU, OP.brIf, 0),
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

function moduleBytes(kernel: Kernel): Uint8Array<ArrayBuffer> {
  const locals = [3, 4, i32, 2, v128, 2, v128];
  const fn = (indexed: boolean) => {
    const code = [...locals, ...body(kernel, indexed), OP.end];
    return [...uleb(code.length), ...code];
  };
  const exp = (n: string, kind: number, index: number) => [...name(n), kind, index];
  const exports = [3, ...exp("memory", 0x02, 0), ...exp("scan", 0, 0), ...exp("gather", 0, 1)];
  const header = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]; // "\0asm", version 1
  return new Uint8Array([
    ...header,
    ...section(1, [1, 0x60, 6, i32, i32, i32, i32, i32, i32, 0]), // type: (6 × i32) -> ()
    ...section(3, [2, 0, 0]), // functions 0 and 1 have type 0
    ...section(5, [1, 0x00, 1]), // one memory, 1 page minimum, no maximum
    ...section(7, exports),
    ...section(10, [2, ...fn(false), ...fn(true)]),
  ]);
}

/** Which kernel a scanner runs: the same results either way, relaxed is ~2× faster from cache. */
export type ScanKernel = "relaxed" | "portable";

const compiled = new Map<ScanKernel, WebAssembly.Module>();

/** The module for `kernel`, or null when this runtime cannot compile it. */
function compile(kernel: ScanKernel): WebAssembly.Module | null {
  let module = compiled.get(kernel);
  if (!module) {
    const bytes = moduleBytes(kernel === "relaxed" ? relaxed : portable);
    if (!WebAssembly.validate(bytes)) return null;
    compiled.set(kernel, module = new WebAssembly.Module(bytes));
  }
  return module;
}

/** One scanner with its own linear memory (grown as rows are added). */
export interface Int8Scanner {
  readonly memory: WebAssembly.Memory;
  readonly kernel: ScanKernel;
  /** out[r] = Σ query[i]·nibble_r[i] for n rows of `half` packed bytes from `base`. */
  scan(query: number, base: number, n: number, half: number, out: number, unused: 0): void;
  /** The same for rows idx[0..n) (int32 row numbers at `idx`) of the plane at `base`. */
  gather(query: number, base: number, n: number, half: number, out: number, idx: number): void;
}

/**
 * A fresh scanner: relaxed SIMD when the runtime has it (V8 since 11.4), else the portable
 * kernel; `kernel` forces one (tests compare them).
 */
export function createInt8Scanner(kernel?: ScanKernel): Int8Scanner {
  const use: ScanKernel = kernel ?? (compile("relaxed") ? "relaxed" : "portable");
  const module = compile(use);
  if (!module) throw new Error(`this runtime cannot compile the ${use} WebAssembly SIMD scan`);
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Omit<
    Int8Scanner,
    "kernel"
  >;
  return { memory: exports.memory, kernel: use, scan: exports.scan, gather: exports.gather };
}
