/**
 * How a `branchcast` command fails: one line on stderr a person can act on,
 * "branchcast <command>: [CODE: ]message", and exit status 1 — whatever failed (a
 * mistyped flag, the tracker's refusal, a missing file). The stack only when asked for
 * with BRANCHCAST_DEBUG=1.
 */

/** The exit status of every failed command. */
export const EXIT_FAILURE = 1

/**
 * A command line that cannot run as typed: an unknown flag, a missing argument, a value
 * that does not parse. The caller's mistake, so a `TypeError`; its line carries no code.
 */
export class UsageError extends TypeError {
  readonly code = 'ERR_USAGE'

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UsageError'
  }
}

/** The stable code an error carries (`ERR_CONFLICT`, `ENOENT`, …), if any. */
export function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * "branchcast <command>: [CODE: ]message" on one line ("branchcast: …" without a
 * command). The code leads when the message
 * does not already name it and the error is not the caller's mistake (a `TypeError`).
 */
export function formatErrorLine (command: string, err: unknown): string {
  const message = messageOf(err).replace(/\s*\n\s*/g, ' ').trim()
  const code = errorCode(err)
  const lead = code !== undefined && !(err instanceof TypeError) && !message.includes(code) ? `${code}: ` : ''
  return `branchcast${command === '' ? '' : ` ${command}`}: ${lead}${message}`
}

/** The body `--json` prints for a failure: `{"error":{"code","message"}}`. */
export function errorJson (err: unknown, fallbackCode: string): { code: string, message: string } {
  return { code: errorCode(err) ?? fallbackCode, message: messageOf(err) }
}

export interface ErrorReportIo {
  stderr: { write: (text: string) => unknown }
  env: Record<string, string | undefined>
}

/** Writes the failure's line (and with BRANCHCAST_DEBUG=1 its stack); returns `EXIT_FAILURE`. */
export function reportError (command: string, err: unknown, io: ErrorReportIo = { stderr: process.stderr, env: process.env }): number {
  io.stderr.write(formatErrorLine(command, err) + '\n')
  if (io.env.BRANCHCAST_DEBUG === '1' && err instanceof Error && err.stack !== undefined) io.stderr.write(err.stack + '\n')
  return EXIT_FAILURE
}
