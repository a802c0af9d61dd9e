/**
 * The input a fuzz worker is running, in memory its parent can read while the worker is
 * stuck or after it died: a counter bumped per input (the watchdog sees progress), the
 * input's length and its bytes.
 */
const HEADER_BYTES = 8
/** The largest input kept whole; longer ones keep their first bytes (the mutator stays far below). */
const INPUT_BYTES = 1 << 20

export class SharedInput {
  readonly buffer: SharedArrayBuffer
  readonly #state: Int32Array
  readonly #bytes: Uint8Array

  constructor (buffer = new SharedArrayBuffer(HEADER_BYTES + INPUT_BYTES)) {
    this.buffer = buffer
    this.#state = new Int32Array(buffer, 0, 2)
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES)
  }

  /** Worker side, before running `input`. */
  publish (input: Uint8Array): void {
    const n = Math.min(input.length, this.#bytes.length)
    this.#bytes.set(n === input.length ? input : input.subarray(0, n))
    Atomics.store(this.#state, 1, n)
    Atomics.add(this.#state, 0, 1)
  }

  /** Inputs published so far. */
  get count (): number { return Atomics.load(this.#state, 0) }

  /** A copy of the input published last. */
  current (): Uint8Array {
    return this.#bytes.slice(0, Atomics.load(this.#state, 1))
  }
}
