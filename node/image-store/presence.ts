/**
 * The presence bitmap file beside an image (`<n>.have`): which manifest indexes hold
 * verified data that has reached the disk. `magic ‖ u32le chunk count ‖ bits`, bit i of
 * manifest index i as on the wire (most significant bit first). Replaced atomically
 * (temp file, fsync, rename), so a crash leaves the old bitmap or the new one, never a
 * torn one.
 */
import { readFile } from 'node:fs/promises'
import { bitfieldBytes } from '../../protocol/index.ts'
import { writeFileAtomic } from '../state-file.ts'

const MAGIC = Uint8Array.of(0x42, 0x43, 0x48, 0x31) // "BCH1"
const HEADER_BYTES = MAGIC.length + 4

/** The saved bits over `chunkCount` indexes, or all clear when absent or not matching. */
export async function loadPresence (path: string, chunkCount: number): Promise<{ bits: Uint8Array, found: boolean }> {
  const empty = { bits: new Uint8Array(bitfieldBytes(chunkCount)), found: false }
  let file: Buffer
  try { file = await readFile(path) } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty
    throw err
  }
  if (file.length !== HEADER_BYTES + bitfieldBytes(chunkCount) || !MAGIC.every((b, i) => file[i] === b) || file.readUInt32LE(MAGIC.length) !== chunkCount) return empty
  return { bits: new Uint8Array(file.subarray(HEADER_BYTES)), found: true }
}

export async function savePresence (path: string, chunkCount: number, bits: Uint8Array): Promise<void> {
  const buf = Buffer.alloc(HEADER_BYTES + bits.length)
  buf.set(MAGIC, 0)
  buf.writeUInt32LE(chunkCount, MAGIC.length)
  buf.set(bits, HEADER_BYTES)
  await writeFileAtomic(path, buf)
}
