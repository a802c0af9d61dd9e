/**
 * Buffers the chunk server lays its outgoing groups in (chunks read straight into them),
 * taken back for the next group once Noise has sealed every byte of one. One pool per peer
 * node: its chunk server takes, its connections' Noise (noise-crypto.ts) reports what it
 * sealed.
 *
 * A group of ~256 KiB goes to the stream, yamux cuts it into frames, Noise seals each frame
 * into a ciphertext of its own: after that nobody reads the plaintext. Allocated afresh,
 * every group was 256 KiB of new memory (page faults, zeroing) and of garbage, which
 * reached V8's old space whenever it waited out two scavenges for a window update, and
 * full collections followed (bench/RESULTS.md, "Peer-to-peer throughput notes").
 *
 * Safe by construction: a buffer comes back only when as many of its bytes as it lent out
 * went through `sealed`, which only the sealing side calls, once per piece it has
 * encrypted. A group cut short (a reset stream) or copied on its way is never counted in
 * full and is simply left to the collector. And a group's bytes are all written before it
 * goes out (headers, then each chunk read and verified in its slot), so nothing left over
 * from an earlier group can leave in it.
 */

/** A group up to this size comes from the pool; a larger one (a chunk over the group size, many tiny chunks) is allocated. */
export const SEND_BUFFER_BYTES = 320 * 1024
/** Spare buffers kept between groups: more streams than this in service allocate the rest. */
const SPARE_BUFFERS = 4

interface Lease { lent: number, sealed: number }

export class SendBuffers {
  /** groups laid out in a pooled buffer, and buffers that came back sealed (tests, benches) */
  readonly stats = { lent: 0, returned: 0 }
  readonly #spares: ArrayBuffer[] = []
  readonly #leases = new WeakMap<ArrayBufferLike, Lease>()

  /** A buffer of `bytes` bytes for an outgoing group; what it holds is arbitrary until written. */
  take (bytes: number): Uint8Array {
    if (bytes > SEND_BUFFER_BYTES) return new Uint8Array(bytes)
    const ab = this.#spares.pop() ?? new ArrayBuffer(SEND_BUFFER_BYTES)
    this.#leases.set(ab, { lent: bytes, sealed: 0 })
    this.stats.lent++
    return new Uint8Array(ab, 0, bytes)
  }

  /** `piece` (plaintext) has been encrypted into a buffer of its own: counts toward giving its buffer back. */
  sealed (piece: Uint8Array): void {
    const lease = this.#leases.get(piece.buffer)
    if (lease === undefined) return
    lease.sealed += piece.byteLength
    if (lease.sealed < lease.lent) return
    this.#leases.delete(piece.buffer)
    this.stats.returned++
    if (this.#spares.length < SPARE_BUFFERS) this.#spares.push(piece.buffer as ArrayBuffer)
  }
}
