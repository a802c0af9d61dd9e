/**
 * Reading a `branchcast` command line, the same way for every command: node:util's
 * `parseArgs` (strict), the flags commands share (-h/--help always; --json; --tracker and
 * --token with BRANCHCAST_TRACKER / BRANCHCAST_TOKEN for commands that call the tracker's
 * API) and their lines in the usage text, and a mistyped flag turned into one line that
 * says what is wrong.
 */
import { parseArgs } from 'node:util'
import type { ParseArgsOptionsConfig } from 'node:util'
import { clientFromFlags } from '../api/client.ts'
import type { ApiClient } from '../api/client.ts'
import { UsageError } from './errors.ts'
import { terminalColumns } from './table.ts'

/** A flag's kind: one string, an on/off switch, or a string given as often as wanted. */
export type FlagType = 'string' | 'boolean' | 'string[]'
export type FlagSpecs = Record<string, FlagType>
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]?: S[K] extends 'boolean' ? boolean : S[K] extends 'string[]' ? string[] : string
}

export interface CommandInit<S extends FlagSpecs> {
  /** the word after "branchcast" ("policies"), for error lines and the help hint */
  name: string
  /** synopsis, what the command does, and its own flags; the shared flags' lines are appended */
  usage: string
  /** the command's own flags; each must appear as `--name` in `usage` */
  flags?: S
  /** whether the command takes positional arguments; default false */
  positionals?: boolean
  /** adds --json; a string is its line in the usage text */
  json?: boolean | string
  /** adds --tracker and --token and `client()`: the command calls the tracker's API */
  api?: boolean
}

/** Where a command reads and writes; the process's by default, so tests can pass their own. */
export interface CommandIo {
  stdout: { write: (text: string) => unknown, isTTY?: boolean, columns?: number }
  env: Record<string, string | undefined>
}

export interface ParsedCommand<S extends FlagSpecs> {
  values: FlagValues<S>
  positionals: string[]
  /** --json was given */
  json: boolean
  /** The tracker's API: --tracker or BRANCHCAST_TRACKER (default http://127.0.0.1:8470), --token or BRANCHCAST_TOKEN. */
  client: () => ApiClient
  /** Prints `data` as one JSON line with --json, else `text`. */
  print: (data: unknown, text: string | (() => string)) => void
  /** the width tables get on stdout */
  columns: number
}

export interface Command<S extends FlagSpecs> {
  readonly name: string
  /** the whole usage text `--help` prints */
  readonly usage: string
  /**
   * Reads `argv`. With --help prints the usage and returns undefined; a flag that is
   * unknown, lacks its value or has one it should not throws `UsageError`.
   */
  parse: (argv: readonly string[], io?: CommandIo) => ParsedCommand<S> | undefined
}

/** Where flag descriptions start in a usage text, unless the command's own lines start later. */
const USAGE_COLUMN = 20

function usageText (init: CommandInit<FlagSpecs>): string {
  const own = init.usage.trimEnd()
  // the shared lines go under the command's own flags (the last paragraph, when it lists
  // flags), their descriptions in its column
  const flagLines = [...own.slice(own.lastIndexOf('\n\n') + 2).matchAll(/^( {2}-\S.*? {2,})\S/gm)]
  const column = Math.max(USAGE_COLUMN, flagLines.at(-1)?.[1]!.length ?? 0)
  const line = (flag: string, text: string): string => `  ${flag}`.padEnd(column) + text
  const shared = [
    ...(init.api === true
      ? [line('--tracker URL', 'tracker base URL (default http://127.0.0.1:8470)'), line('', '[env BRANCHCAST_TRACKER]'), line('--token T', 'API token [env BRANCHCAST_TOKEN]')]
      : []),
    ...(init.json === undefined || init.json === false ? [] : [line('--json', typeof init.json === 'string' ? init.json : 'machine-readable output')]),
    line('-h, --help', 'this help')
  ]
  return `${own}\n${flagLines.length === 0 ? '\nOptions:\n' : ''}${shared.join('\n')}`
}

function levenshtein (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]!
}

/** The known flag closest to a mistyped one, when it is close enough to be meant. */
function closest (rawName: string, names: string[]): string | undefined {
  if (!rawName.startsWith('--')) return undefined
  const typed = rawName.slice(2)
  let best: { name: string, distance: number } | undefined
  for (const name of names) {
    const distance = levenshtein(typed, name)
    if (distance <= Math.min(2, Math.floor(name.length / 2)) && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  return best === undefined ? undefined : `--${best.name}`
}

/**
 * What is wrong with a command line strict `parseArgs` refused, in our words: found by
 * walking its tokens (parsed leniently) for the first one that breaks a rule.
 */
function explain (argv: readonly string[], options: ParseArgsOptionsConfig, positionals: boolean, err: Error): string {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true })
  for (const t of tokens) {
    if (t.kind === 'positional' && !positionals) return `unexpected argument ${JSON.stringify(t.value)}`
    if (t.kind !== 'option') continue
    const spec = options[t.name]
    if (spec === undefined) {
      const guess = closest(t.rawName, Object.keys(options))
      return `unknown option ${t.rawName}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`
    }
    const value = t.value
    if (spec.type === 'boolean' && value !== undefined) return `${t.rawName} takes no value`
    if (spec.type === 'string' && value === undefined) return `${t.rawName} needs a value`
    if (spec.type === 'string' && t.inlineValue !== true && value?.startsWith('-') === true) {
      return `${t.rawName} needs a value (one starting with "-" is written ${t.rawName}=${value})`
    }
  }
  return err.message.split('\n')[0]!
}

/**
 * A command's flags, usage and parser, made once when its module loads. Throws
 * `TypeError` there when a flag is missing from the usage text or shadows a shared one,
 * so help and parser cannot drift apart.
 */
export function defineCommand<S extends FlagSpecs = Record<never, FlagType>> (init: CommandInit<S>): Command<S> {
  const withJson = init.json !== undefined && init.json !== false
  const shared = ['help', ...(withJson ? ['json'] : []), ...(init.api === true ? ['tracker', 'token'] : [])]
  const options: ParseArgsOptionsConfig = {}
  for (const [name, type] of Object.entries(init.flags ?? {})) {
    if (shared.includes(name)) throw new TypeError(`branchcast ${init.name}: --${name} is a shared flag`)
    if (!new RegExp(`--${name}(?![\\w-])`).test(init.usage)) throw new TypeError(`branchcast ${init.name}: --${name} is not in the usage text`)
    options[name] = type === 'string[]' ? { type: 'string', multiple: true } : { type }
  }
  options.help = { type: 'boolean', short: 'h' }
  if (withJson) options.json = { type: 'boolean' }
  if (init.api === true) Object.assign(options, { tracker: { type: 'string' }, token: { type: 'string' } })
  const own = Object.keys(init.flags ?? {})
  const positionals = init.positionals === true
  const usage = usageText(init)
  const hint = `see "branchcast ${init.name} --help"`

  return {
    name: init.name,
    usage,
    parse (argv, io = { stdout: process.stdout, env: process.env }) {
      let parsed
      try {
        parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: positionals })
      } catch (err) {
        throw new UsageError(`${explain(argv, options, positionals, err as Error)}; ${hint}`, { cause: err })
      }
      const raw = parsed.values as Record<string, string | boolean | string[] | undefined>
      if (raw.help === true) { io.stdout.write(usage + '\n'); return undefined }
      const json = raw.json === true
      const values: Record<string, unknown> = {}
      for (const name of own) if (raw[name] !== undefined) values[name] = raw[name]
      return {
        values: values as FlagValues<S>,
        positionals: parsed.positionals,
        json,
        client: () => clientFromFlags({ tracker: raw.tracker as string | undefined, token: raw.token as string | undefined }, io.env),
        print: (data, text) => { io.stdout.write(json ? `${JSON.stringify(data)}\n` : `${typeof text === 'string' ? text : text()}\n`) },
        columns: terminalColumns(io.stdout)
      }
    }
  }
}

/**
 * A flag's value read with `parse` (`parseBytes`, `parseDurationMs`, `integer(1, 64)` …);
 * its error becomes a `UsageError` naming the flag: "--size: not a size …". No value, no
 * reading: undefined stays undefined.
 */
export function readFlag<T> (flag: string, text: string, parse: (text: string) => T): T
export function readFlag<T> (flag: string, text: string | undefined, parse: (text: string) => T): T | undefined
export function readFlag<T> (flag: string, text: string | undefined, parse: (text: string) => T): T | undefined {
  if (text === undefined) return undefined
  try {
    return parse(text)
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The action a multi-action command was given (`images list`, `policies create NAME`): the
 * first positional, one of `actions`, else a `UsageError` naming them. With `needsName`, an
 * action other than `list` must be followed by a name (`needsName` says what it names).
 */
export function readAction (positionals: readonly string[], actions: readonly string[], needsName?: string): { action: string, name: string | undefined, rest: string[] } {
  const [action, name, ...rest] = positionals
  if (action === undefined || !actions.includes(action)) throw new UsageError(`${action === undefined ? 'needs a command' : `unknown command "${action}"`} (${actions.join(', ')})`)
  if (needsName !== undefined && action !== 'list' && (name === undefined || name === '')) throw new UsageError(`${action} needs ${needsName}`)
  return { action, name, rest }
}

/** A parser of whole numbers from `min` to `max`, for `readFlag` and positional arguments. */
export function integer (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  const range = max === Number.MAX_SAFE_INTEGER ? (min === Number.MIN_SAFE_INTEGER ? '' : ` >= ${min}`) : ` from ${min} to ${max}`
  return (text) => {
    const n = /^-?\d{1,16}$/.test(text.trim()) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new TypeError(`not an integer${range}: ${JSON.stringify(text)}`)
    return n
  }
}
