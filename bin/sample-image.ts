/**
 * A deterministic sample disk image for the demo and the self-test: stretches of
 * pseudo-random data (AES-256-CTR over zeros: fast, incompressible, same bytes for the
 * same seed), zero runs like a real disk's free space (assembled sparse by the node), and
 * repeated blocks (shared chunks). Streamed, so `--size` may exceed memory.
 */
import { createCipheriv, createHash } from 'node:crypto'

const BLOCK_BYTES = 1024 * 1024

/** The image as a byte stream, produced lazily block by block. */
export function sampleImageStream (sizeBytes: number, seed = 1): ReadableStream<Uint8Array> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new TypeError('sizeBytes must be a positive integer')
  const key = createHash('sha256').update(`branchcast-sample-${seed}`).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(BLOCK_BYTES)
  let repeated: Buffer | undefined
  let at = 0
  let block = 0
  return new ReadableStream<Uint8Array>({
    pull (controller) {
      if (at >= sizeBytes) { controller.close(); return }
      const n = Math.min(BLOCK_BYTES, sizeBytes - at)
      // one block in eight is zeros, one in eight repeats an earlier one, the rest is data
      const kind = (block * 2654435761 + seed) % 8
      let bytes: Buffer
      if (kind === 0) bytes = zeros.subarray(0, n)
      else if (kind === 1 && repeated !== undefined) bytes = repeated.subarray(0, n)
      else {
        bytes = cipher.update(zeros.subarray(0, n))
        repeated ??= Buffer.from(bytes)
      }
      controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      at += n
      block++
    }
  })
}
