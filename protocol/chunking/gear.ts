/**
 * The gear rolling hash of FastCDC and its hot loop.
 *
 * `h = (h << 1) + GEAR[byte]` on 32 bits: bit k of `h` depends on the last k + 1 bytes, so a
 * cut test on the top bits looks at a window of up to 32 bytes and boundaries resynchronise
 * a few bytes after any edit. The table is part of the protocol (two parties must cut the
 * same way): entry i is the first four bytes, big-endian, of SHA-256("branchcast gear v1"
 * followed by the byte i).
 *
 * The loop runs in a small WebAssembly function written out below byte by byte (no
 * toolchain): it has no per-byte bounds checks and measured about twice as fast as the
 * same loop in JavaScript on this project's machines (see bench/RESULTS.md). `scanGear`
 * is the reference the tests compare it against, and the fallback where WebAssembly is off.
 */
import { createHash } from 'node:crypto'

function makeGearTable (): Int32Array {
  const table = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    const d = createHash('sha256').update('branchcast gear v1').update(Uint8Array.of(i)).digest()
    table[i] = d.readInt32BE(0)
  }
  return table
}

/** The gear table (read-only by convention; it is shared). */
export const GEAR: Int32Array = makeGearTable()

/** Mask on the top `bits` bits of the 32-bit gear hash; a cut where `(h & mask) === 0`. */
export function topBitsMask (bits: number): number {
  return bits <= 0 ? 0 : (bits >= 32 ? -1 : (~0 << (32 - bits)) | 0)
}

/**
 * Where the scan stopped and the hash there. `pos` is the index just after the cut byte
 * when `cut` is true, otherwise `end`.
 */
export interface GearScanResult {
  cut: boolean
  pos: number
  hash: number
}

/**
 * Scans a window of loaded bytes. `load` makes up to `windowBytes` bytes current (the Wasm
 * scanner copies them into its memory once, however many cuts follow); `scan` runs the gear
 * hash over `[start, end)` of the loaded bytes from `hash` and stops after the first byte
 * where `(h & mask) === 0`. One scanner per caller: it holds mutable memory.
 */
export interface GearScanner {
  readonly windowBytes: number
  load: (bytes: Uint8Array) => void
  scan: (start: number, end: number, hash: number, mask: number, out: GearScanResult) => void
}

/** The loop in plain JavaScript: the reference for tests and the fallback without Wasm. */
export function scanGear (bytes: Uint8Array, start: number, end: number, hash: number, mask: number, out: GearScanResult): void {
  const g = GEAR
  let h = hash | 0
  for (let i = start; i < end; i++) {
    h = ((h << 1) + g[bytes[i]]) | 0
    if ((h & mask) === 0) {
      out.cut = true; out.pos = i + 1; out.hash = h
      return
    }
  }
  out.cut = false; out.pos = end; out.hash = h
}

export function createJsGearScanner (): GearScanner {
  let data: Uint8Array = new Uint8Array(0)
  return {
    windowBytes: 1 << 30,
    load: (bytes) => { data = bytes },
    scan: (start, end, hash, mask, out) => { scanGear(data, start, end, hash, mask, out) }
  }
}

/** The fastest scanner available: Wasm, else JavaScript. */
export function createGearScanner (): GearScanner {
  return createWasmGearScanner() ?? createJsGearScanner()
}

// ---- WebAssembly scanner -------------------------------------------------------------
// Memory layout: [0, 1024) gear table (little-endian i32), [1024, 1028) hash out,
// [WASM_DATA_OFFSET, ...) the loaded window.

const WASM_HASH_ADDR = 1024
const WASM_DATA_OFFSET = 4096
/** Bytes copied into Wasm memory per call: big enough to amortise the call, small enough to stay in L2. */
const WASM_WINDOW_BYTES = 256 * 1024

function uleb (n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb (n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out }
    out.push(b | 0x80)
  }
}

function section (id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body]
}

function str (s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
}

// opcodes
const BLOCK = 0x02; const LOOP = 0x03; const IF = 0x04; const END = 0x0b; const BR = 0x0c; const BR_IF = 0x0d
const RETURN = 0x0f; const GET = 0x20; const SET = 0x21; const TEE = 0x22; const LOAD = 0x28; const LOAD8U = 0x2d
const STORE = 0x36; const CONST = 0x41; const EQZ = 0x45; const LT_U = 0x49; const GE_U = 0x4f; const ADD = 0x6a
const SUB = 0x6b; const AND = 0x71; const SHL = 0x74; const VOID = 0x40
// params: 0 p, 1 end, 2 h, 3 mask
const P = 0; const E = 1; const H = 2; const M = 3

/** One byte of the loop: h = (h << 1) + gear[mem[p + k]]; on a cut, store h, return p + k + 1. */
function step (k: number): number[] {
  return [
    GET, H, CONST, 1, SHL,
    GET, P, LOAD8U, 0, ...uleb(k), CONST, 2, SHL, LOAD, 2, 0,
    ADD, TEE, H,
    GET, M, AND, EQZ,
    IF, VOID,
    CONST, ...sleb(WASM_HASH_ADDR), GET, H, STORE, 2, 0,
    GET, P, CONST, ...sleb(k + 1), ADD, RETURN,
    END
  ]
}

const UNROLL = 8

function scanBody (): number[] {
  const body: number[] = [0 /* no extra locals */]
  // unrolled loop while at least UNROLL bytes remain
  body.push(BLOCK, VOID, LOOP, VOID,
    GET, E, GET, P, SUB, CONST, ...sleb(UNROLL), LT_U, BR_IF, 1)
  for (let k = 0; k < UNROLL; k++) body.push(...step(k))
  body.push(GET, P, CONST, ...sleb(UNROLL), ADD, SET, P, BR, 0, END, END)
  // tail, byte by byte
  body.push(BLOCK, VOID, LOOP, VOID,
    GET, P, GET, E, GE_U, BR_IF, 1,
    ...step(0),
    GET, P, CONST, 1, ADD, SET, P, BR, 0, END, END)
  body.push(CONST, ...sleb(WASM_HASH_ADDR), GET, H, STORE, 2, 0, GET, E, END)
  return [...uleb(body.length), ...body]
}

function wasmModuleBytes (pages: number): Uint8Array {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, ...uleb(pages)]),
    ...section(7, [2, ...str('scan'), 0x00, 0, ...str('mem'), 0x02, 0]),
    ...section(10, [1, ...scanBody()])
  ]
  return Uint8Array.from(bytes)
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: Record<string, unknown> }
}

/** A Wasm gear scanner with its own memory, or undefined where WebAssembly is unavailable. */
export function createWasmGearScanner (): GearScanner | undefined {
  // our tsconfig has no DOM lib, which is where TypeScript declares WebAssembly
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
  if (wasm === undefined) return undefined
  const pages = Math.ceil((WASM_DATA_OFFSET + WASM_WINDOW_BYTES) / 65536)
  let exports: Record<string, unknown>
  try {
    exports = new wasm.Instance(new wasm.Module(wasmModuleBytes(pages))).exports
  } catch {
    return undefined
  }
  const run = exports.scan as (p: number, end: number, h: number, mask: number) => number
  const mem = new Uint8Array((exports.mem as { buffer: ArrayBuffer }).buffer)
  const view = new DataView(mem.buffer)
  for (let i = 0; i < 256; i++) view.setInt32(i * 4, GEAR[i], true)

  return {
    windowBytes: WASM_WINDOW_BYTES,
    load: (bytes) => {
      if (bytes.length > WASM_WINDOW_BYTES) throw new RangeError('window too large')
      mem.set(bytes, WASM_DATA_OFFSET)
    },
    scan: (start, end, hash, mask, out) => {
      const stop = run(WASM_DATA_OFFSET + start, WASM_DATA_OFFSET + end, hash | 0, mask)
      const h = view.getInt32(WASM_HASH_ADDR, true)
      // A cut on the last byte returns the same `stop` as running off the end; the hash
      // tells them apart (every byte scanned without a cut had (h & mask) !== 0).
      out.cut = stop < WASM_DATA_OFFSET + end || (end > start && (h & mask) === 0)
      out.pos = stop - WASM_DATA_OFFSET
      out.hash = h
    }
  }
}
