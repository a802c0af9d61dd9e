/**
 * Severity, category and a one-line description of each event type: the activity and
 * error logs' columns, MED-V style. The table is the rule's only home (tracker/README.md
 * shows it to operators).
 *
 * | type | severity | category |
 * | --- | --- | --- |
 * | `pull.completed` | info | transfer |
 * | `pull.failed` | error | transfer |
 * | `peer.banned` | warning | security |
 * | `session.started`, `session.stopped`, `session.unlocked`, `app.launched` | info | session |
 * | `session.crashed` | error | session |
 * | `session.locked` | warning | policy |
 * | `policy.blocked` | warning | policy |
 * | other `*.failed`, `*.error` | error | the type's first segment |
 * | other `*.warning`, `*.warn` | warning | the type's first segment |
 * | any other extension | info | the type's first segment |
 *
 * The error log holds every event whose severity is error or warning.
 */
import type { Severity } from '../../protocol/index.ts'
import { formatBytes } from '../../protocol/index.ts'

type Payload = Record<string, unknown>

interface TypeRule {
  severity: Severity
  category: string
  describe: (p: Payload) => string
}

const str = (v: unknown): string => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : ''
const bytes = (v: unknown): string => typeof v === 'number' ? formatBytes(v) : '?'
const imageVersion = (p: Payload): string => `${str(p.image)}${p.version === undefined ? '' : ` v${str(p.version)}`}`
const joined = (...parts: string[]): string => parts.filter((x) => x !== '').join(': ')

export const EVENT_TYPE_RULES: Readonly<Record<string, TypeRule>> = {
  'pull.completed': {
    severity: 'info',
    category: 'transfer',
    describe: (p) => `pulled ${imageVersion(p)}: ${bytes(p.bytesFromOrigin)} from origin, ${bytes(p.bytesFromPeers)} from peers, ${bytes(p.bytesFromLocal)} reused`
  },
  'pull.failed': { severity: 'error', category: 'transfer', describe: (p) => joined(`pull of ${imageVersion(p)} failed`, str(p.code), str(p.message)) },
  'peer.banned': { severity: 'warning', category: 'security', describe: (p) => joined(`banned peer ${str(p.peerId)}`, str(p.reason)) },
  'session.started': { severity: 'info', category: 'session', describe: (p) => `started ${imageVersion(p)}` },
  'session.stopped': {
    severity: 'info',
    category: 'session',
    describe: (p) => `stopped ${imageVersion(p)}${p.exitCode === undefined ? '' : ` (exit ${str(p.exitCode)})`}`
  },
  'session.locked': { severity: 'warning', category: 'policy', describe: (p) => joined(`locked ${str(p.image)}`, str(p.reason)) },
  'session.unlocked': { severity: 'info', category: 'session', describe: (p) => `unlocked ${imageVersion(p)}` },
  'session.crashed': { severity: 'error', category: 'session', describe: (p) => joined(`${imageVersion(p)} crashed`, str(p.reason)) },
  'app.launched': { severity: 'info', category: 'session', describe: (p) => `launched ${str(p.app)} in ${imageVersion(p)}` },
  'policy.blocked': { severity: 'warning', category: 'policy', describe: (p) => joined(`blocked ${str(p.image)}`, str(p.rule), str(p.message)) }
}

/** Extension types whose name ends so are errors / warnings. */
export const ERROR_TYPE_SUFFIXES = ['.failed', '.error'] as const
export const WARNING_TYPE_SUFFIXES = ['.warning', '.warn'] as const

/** What the error log asks the store for: the known types above info, and the suffixes. */
export const ERROR_LOG_TYPES = {
  typeIn: Object.entries(EVENT_TYPE_RULES).filter(([, r]) => r.severity !== 'info').map(([type]) => type),
  typeSuffixes: [...ERROR_TYPE_SUFFIXES, ...WARNING_TYPE_SUFFIXES]
}

export interface Classified {
  severity: Severity
  category: string
  description: string
}

/** Severity, category and description of one event (see the table above). */
export function classifyEvent (type: string, payload: unknown): Classified {
  const p: Payload = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? payload as Payload : {}
  const rule = EVENT_TYPE_RULES[type]
  if (rule !== undefined) return { severity: rule.severity, category: rule.category, description: rule.describe(p) }
  const category = type.split('.')[0] ?? type
  const severity: Severity = ERROR_TYPE_SUFFIXES.some((s) => type.endsWith(s))
    ? 'error'
    : WARNING_TYPE_SUFFIXES.some((s) => type.endsWith(s)) ? 'warning' : 'info'
  const message = str(p.message)
  return { severity, category, description: message === '' ? type : `${type}: ${message}` }
}
