/**
 * A small seeded PRNG (sfc32): the same seed gives the same inputs on every machine, so a
 * fuzz run in the test suite is deterministic and a finding can be reproduced by its seed.
 */
export class Random {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor (seed: number) {
    this.#a = 0x9e3779b9
    this.#b = 0x243f6a88
    this.#c = 0xb7e15162
    this.#d = seed >>> 0
    for (let i = 0; i < 16; i++) this.u32()
  }

  u32 (): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** An integer in 0..n-1 (n >= 1). */
  below (n: number): number {
    return n <= 0x1_0000_0000 ? Math.floor((this.u32() / 0x1_0000_0000) * n) : Math.floor(((this.u32() * 0x20_0000 + (this.u32() >>> 11)) / 2 ** 53) * n)
  }

  /** Small numbers far more often than large ones, up to `max`: most edits are local. */
  small (max: number): number {
    return Math.min(max, this.below(2 ** (1 + this.below(Math.max(1, Math.ceil(Math.log2(max + 1)))))))
  }

  chance (p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p
  }

  pick<T> (items: readonly T[]): T {
    return items[this.below(items.length)]!
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }
}
