/**
 * What a policy's icon text can safely become on the host, decided without touching the
 * disk. Only two forms are used: an icon-theme name (letters, digits, `.`, `_`, `-`; the
 * desktop looks it up in its theme, so nothing is written) and a small PNG or SVG as a
 * base64 `data:` URL (written into our own folder under a name we choose, after its magic
 * bytes are checked). Anything else — a path in the guest (`C:\Apps\x.ico`), an http URL,
 * a host path — gets the standard fallback: the desk never reads host files or fetches
 * URLs because a policy said so.
 */
import { FALLBACK_ICON, MAX_ICON_BYTES } from './constants.ts'

export type HostIcon =
  | { kind: 'theme', name: string }
  | { kind: 'file', ext: 'png' | 'svg', bytes: Buffer }

const THEME_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
const DATA_URL = /^data:image\/(png|svg\+xml);base64,([A-Za-z0-9+/]+={0,2})$/
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

export function hostIcon (icon: string | undefined): HostIcon {
  const fallback: HostIcon = { kind: 'theme', name: FALLBACK_ICON }
  if (icon === undefined) return fallback
  // "x.png" is a file name, not a theme name: a theme lookup would never find it
  if (THEME_NAME.test(icon) && !/\.(png|svg|xpm|ico)$/i.test(icon)) return { kind: 'theme', name: icon }
  const m = DATA_URL.exec(icon)
  if (m === null) return fallback
  const bytes = Buffer.from(m[2]!, 'base64')
  if (bytes.length === 0 || bytes.length > MAX_ICON_BYTES) return fallback
  if (m[1] === 'png') return bytes.subarray(0, 8).equals(PNG_MAGIC) ? { kind: 'file', ext: 'png', bytes } : fallback
  const head = bytes.subarray(0, 1024).toString('utf8')
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/.test(head) ? { kind: 'file', ext: 'svg', bytes } : fallback
}
