/**
 * Sealed cookie values: JSON encrypted and authenticated with the tracker's session key
 * (JWE `dir` + A256GCM), with a purpose and an absolute expiry inside, so a login cookie
 * cannot pass for a session, nor an old cookie outlive its time. Nothing in them is
 * readable or forgeable by the browser.
 */
import { CompactEncrypt, compactDecrypt } from 'jose'

export interface Sealer {
  seal: (purpose: string, value: object, expiresAtMs: number) => Promise<string>
  /** The value, or undefined when it is not ours, tampered with, for another purpose or expired. */
  open: <T>(purpose: string, sealed: string, nowMs: number) => Promise<T | undefined>
}

export function createSealer (key: Uint8Array): Sealer {
  if (key.length !== 32) throw new TypeError('the session key must be 32 bytes')
  return {
    async seal (purpose, value, expiresAtMs) {
      const plaintext = new TextEncoder().encode(JSON.stringify({ p: purpose, x: expiresAtMs, v: value }))
      return await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key)
    },
    async open<T> (purpose: string, sealed: string, nowMs: number): Promise<T | undefined> {
      try {
        const { plaintext } = await compactDecrypt(sealed, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })
        const box = JSON.parse(new TextDecoder().decode(plaintext)) as { p?: unknown, x?: unknown, v?: T }
        if (box.p !== purpose || typeof box.x !== 'number' || box.x <= nowMs) return undefined
        return box.v
      } catch {
        return undefined
      }
    }
  }
}
