/**
 * freedesktop.org desktop entries (Desktop Entry Specification 1.5), written as plain text
 * by pure functions: the two escaping layers of `Exec` (argument quoting, then the string
 * escapes every value has), names made safe for a file name, and the entry itself.
 *
 * `Exec` is read by launchers in two steps, so it is written in the reverse order: an
 * argument with a reserved character is put in double quotes with `"`, `` ` ``, `$` and
 * `\` backslash-escaped, `%` is doubled everywhere (field codes), and then the string
 * escape of values doubles every backslash again — a literal backslash in a quoted
 * argument is four backslashes in the file, as the specification says.
 */
import { createHash } from 'node:crypto'
import { APP_NAME_HASH_HEX, MAX_APP_SLUG_CHARS } from './constants.ts'

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/
/** The specification's reserved characters: an argument holding one must be quoted. */
const RESERVED = /[ \t\n"'\\><~|&;$*?#`()]/

function noControl (text: string, what: string): void {
  if (CONTROL.test(text)) throw new TypeError(`${what} must not contain control characters`)
}

/** The string escapes of a value: backslash doubled, a leading space kept as `\s` (parsers trim it otherwise). */
export function escapeValue (text: string): string {
  noControl(text, 'a desktop entry value')
  return text.replaceAll('\\', '\\\\').replace(/^ /, '\\s')
}

/** One `Exec` argument before the string escapes: `%` doubled, quoted when it holds a reserved character (or is empty). */
export function quoteExecArg (arg: string): string {
  noControl(arg, 'an Exec argument')
  const text = arg.replaceAll('%', '%%')
  if (text !== '' && !RESERVED.test(text)) return text
  return `"${text.replace(/["`$\\]/g, (c) => `\\${c}`)}"`
}

/** The whole `Exec` value for `argv`, as it is written in the file. */
export function execValue (argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('Exec needs a program')
  return escapeValue(argv.map(quoteExecArg).join(' '))
}

/**
 * A file name stem for an application: its name lowercased to letters, digits and single
 * dashes (at most MAX_APP_SLUG_CHARS), then a hash of the exact name, so "Word", "word"
 * and "../Word" are three files and none of them leaves our folder.
 */
export function appFileStem (name: string): string {
  const slug = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, MAX_APP_SLUG_CHARS).replace(/-+$/, '')
  const hash = createHash('sha256').update(name).digest('hex').slice(0, APP_NAME_HASH_HEX)
  return slug === '' ? `app-${hash}` : `${slug}-${hash}`
}

export interface DesktopEntry {
  /** shown in the menu */
  name: string
  comment?: string
  /** the command line, one argument each */
  exec: readonly string[]
  /** an icon-theme name or an absolute path */
  icon: string
  /** X-Branchcast-* keys: which image and application the entry stands for */
  image: string
  app: string
}

/** The text of a `.desktop` file. */
export function renderDesktopEntry (e: DesktopEntry): string {
  const lines = [
    '[Desktop Entry]',
    'Type=Application',
    // 1.5 added nothing we use; validators of Debian 12 (desktop-file-utils 0.26) know up to 1.4
    'Version=1.4',
    `Name=${escapeValue(e.name)}`,
    ...(e.comment === undefined ? [] : [`Comment=${escapeValue(e.comment)}`]),
    `Exec=${execValue(e.exec)}`,
    `Icon=${escapeValue(e.icon)}`,
    'Terminal=false',
    `X-Branchcast-Image=${escapeValue(e.image)}`,
    `X-Branchcast-App=${escapeValue(e.app)}`
  ]
  return lines.join('\n') + '\n'
}
