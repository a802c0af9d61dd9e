/**
 * Strict base64 for signed material: exactly one text per byte string.
 *
 * Node's decoder is lenient: it skips characters outside the alphabet, accepts both
 * alphabets and missing or extra padding, and ignores the unused low bits of the last
 * character. So "another last character" decodes to the same bytes, and a signature or key
 * would have several spellings that all verify. Re-encoding and comparing refuses every
 * spelling but the one our encoder writes.
 */

/** The bytes `text` encodes, or undefined unless `text` is exactly how Node encodes them. */
export function decodeCanonicalBase64 (text: string, encoding: 'base64' | 'base64url'): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined
  const bytes = Buffer.from(text, encoding)
  return bytes.toString(encoding) === text ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined
}
