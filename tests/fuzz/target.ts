/**
 * What a fuzz target is, and the one rule for judging an outcome: a decoder fed hostile
 * bytes may return, or refuse with one of our coded errors (BranchcastError). Anything
 * else it throws is a finding — a RangeError, a plain Error, and also a TypeError: ours
 * mean a caller's mistake, which the targets never make, so a TypeError here is an
 * internal one ("Cannot read properties of undefined"). A target can add an oracle: a
 * check that what decoded is what the format promises (canonical, within its caps).
 */
import { BranchcastError } from '../../protocol/errors.ts'
import type { ErrorCode } from '../../protocol/errors.ts'

export interface FuzzTarget {
  name: string
  /** the decoder under test, as the report names it */
  decoder: string
  /** valid encodings to mutate, made the same way on every run */
  seeds: () => Uint8Array[]
  /** byte strings worth inserting: magic numbers, field names, separators */
  dictionary?: () => Uint8Array[]
  /** the mutator's cap on an input (default 64 KiB: enough to cross every count cap we parse) */
  maxInputBytes?: number
  /**
   * Decodes one input. Returns a short label of the outcome (`ok`, or the error code and
   * message shape) that steers the mutator towards inputs reaching new outcomes; throws
   * for a finding. Must be a pure function of `input`: a finding is confirmed by rerunning.
   */
  run: (input: Uint8Array) => string | Promise<string>
}

/** The decoder accepted an input but broke a promise of its format. */
export class OracleViolation extends Error {
  override name = 'OracleViolation'
}

export function check (condition: boolean, what: string): asserts condition {
  if (!condition) throw new OracleViolation(what)
}

/** A label for a clean refusal (one of `codes`, any code by default); rethrows anything else. */
export function refusal (err: unknown, codes?: readonly ErrorCode[]): string {
  if (err instanceof BranchcastError && (codes === undefined || codes.includes(err.code))) return `${err.code} ${messageShape(err.message)}`
  throw err
}

/** A message without its values, so "part 3: 9 entries" and "part 4: 7 entries" are one outcome. */
export function messageShape (message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/0x[0-9a-f]+/gi, '0x#').replace(/[0-9a-f]{16,}/g, 'H').replace(/\d+/g, '#').slice(0, 80)
}

/** The target called `name` in `targets`; a TypeError naming the choices otherwise. */
export function targetNamed (targets: readonly FuzzTarget[], name: string): FuzzTarget {
  const target = targets.find((t) => t.name === name)
  if (target === undefined) throw new TypeError(`no fuzz target ${JSON.stringify(name)}; targets: ${targets.map((t) => t.name).join(', ')}`)
  return target
}
