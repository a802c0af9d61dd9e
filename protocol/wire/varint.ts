/**
 * Unsigned LEB128 varints for non-negative safe integers (at most 8 bytes, 53 bits).
 *
 * Decoding is canonical: a value has exactly one encoding, so a non-minimal form (a final
 * 0x00 byte after a continuation) is refused. Signed wire formats must not have two byte
 * strings for the same meaning, and a re-encode must reproduce the bytes.
 */

/** Longest encoding of `Number.MAX_SAFE_INTEGER` (53 bits / 7 per byte). */
export const MAX_VARINT_BYTES = 8

/** Bytes `value` takes as a varint. Throws TypeError for anything but a non-negative safe integer. */
export function varintLength (value: number): number {
  assertUint(value)
  let n = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    n++
  }
  return n
}

/** Writes `value` at `offset` and returns the offset after it. The caller sizes `buf`. */
export function writeVarint (buf: Uint8Array, offset: number, value: number): number {
  assertUint(value)
  // Division, not `>>>`: values above 2^32 are legal (byte counts of large images).
  while (value >= 0x80) {
    buf[offset++] = (value % 128) | 0x80
    value = Math.floor(value / 128)
  }
  buf[offset++] = value
  return offset
}

export function encodeVarint (value: number): Uint8Array {
  const buf = new Uint8Array(varintLength(value))
  writeVarint(buf, 0, value)
  return buf
}

/**
 * Reads a varint at `offset`; returns `[value, nextOffset]`. Throws RangeError when the
 * bytes end early, the form is not minimal, or the value exceeds `max`
 * (default `Number.MAX_SAFE_INTEGER`); callers turn that into their own coded error.
 */
export function readVarint (bytes: Uint8Array, offset: number, max = Number.MAX_SAFE_INTEGER): [number, number] {
  let value = 0
  let scale = 1
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset + i >= bytes.length) throw new RangeError('varint runs past the end of the bytes')
    const b = bytes[offset + i]
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new RangeError('varint is not in its shortest form')
      if (value > max) throw new RangeError(`varint ${value} exceeds ${max}`)
      return [value, offset + i + 1]
    }
    scale *= 128
  }
  throw new RangeError(`varint longer than ${MAX_VARINT_BYTES} bytes`)
}

function assertUint (value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`not a non-negative safe integer: ${value}`)
}
