/**
 * One structured logger: JSON lines on stderr, a child per component
 * (`logger.forComponent('tracker:origin')`). Fields whose names look secret are redacted,
 * so a token never reaches a log line by accident.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

export interface Logger {
  debug: (msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  error: (msg: string, fields?: Record<string, unknown>) => void
  forComponent: (name: string) => Logger
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }
const SECRET_FIELD = /token|secret|password|authorization|cookie|key$/i

export interface LoggerInit {
  level?: LogLevel
  /** where lines go; defaults to stderr */
  write?: (line: string) => void
}

function redact (fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = '[redacted]'
    else if (v instanceof Error) out[k] = { name: v.name, message: v.message, code: (v as { code?: unknown }).code }
    else out[k] = v
  }
  return out
}

export function createLogger (init: LoggerInit = {}, component = 'branchcast'): Logger {
  const min = LEVELS[init.level ?? (process.env.BRANCHCAST_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? LEVELS.info
  const write = init.write ?? ((line: string) => { process.stderr.write(line + '\n') })
  const emit = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LEVELS[level] < min) return
    write(JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...redact(fields) }))
  }
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    forComponent: (name) => createLogger(init, name)
  }
}
