/**
 * The embedded provider's directory: `<data>/users.json`, one entry per user — name,
 * scrypt password hash, groups, role. Read when the provider starts; edit the file and
 * restart to change it. A first start with no file creates it with one admin whose
 * generated password goes to `<data>/initial-admin-password` (0600), never to a log.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import type { ScryptOptions } from 'node:crypto'
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { RoleSchema } from '../../protocol/index.ts'
import type { Role } from '../../protocol/index.ts'
import { MAX_LOGIN_FIELD_CHARS, SCRYPT_KEY_BYTES, SCRYPT_N } from './constants.ts'

export const USERS_FILE = 'users.json'
export const INITIAL_ADMIN_PASSWORD_FILE = 'initial-admin-password'

const UserSchema = z.object({
  user: z.string().min(1).max(200),
  /** `scrypt$N$salt-b64url$hash-b64url` */
  passwordHash: z.string().regex(/^scrypt\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/),
  groups: z.array(z.string().min(1).max(200)).max(256).default([]),
  role: RoleSchema.default('user')
}).strict()
export type DirectoryUser = z.infer<typeof UserSchema>

const UsersFileSchema = z.object({ users: z.array(UserSchema) }).strict()

function scryptAsync (password: string, salt: Buffer, n: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r: 8, p: 1, maxmem: 256 * n * 8 * 2 }
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, SCRYPT_KEY_BYTES, options, (err, key) => { err === null ? resolve(key) : reject(err) }))
}

export async function hashPassword (password: string, n = SCRYPT_N): Promise<string> {
  const salt = randomBytes(16)
  return `scrypt$${n}$${salt.toString('base64url')}$${(await scryptAsync(password, salt, n)).toString('base64url')}`
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const [, n, salt, hash] = stored.split('$')
  const expected = Buffer.from(hash ?? '', 'base64url')
  const got = await scryptAsync(password, Buffer.from(salt ?? '', 'base64url'), Number(n))
  return got.length === expected.length && timingSafeEqual(got, expected)
}

export interface Directory {
  find: (user: string) => DirectoryUser | undefined
  /** The user when the password is theirs; always spends one scrypt, so timing does not tell who exists. */
  check: (user: string, password: string) => Promise<DirectoryUser | undefined>
}

/** Loads `<dataDir>/users.json`; creates it (and the initial password file) on a first start. */
export async function openDirectory (dataDir: string): Promise<{ directory: Directory, initialPasswordFile?: string }> {
  const path = join(dataDir, USERS_FILE)
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  let initialPasswordFile: string | undefined
  let users: DirectoryUser[]
  if (text === undefined) {
    const password = randomBytes(18).toString('base64url')
    const created = [{ user: 'admin', passwordHash: await hashPassword(password), groups: [], role: 'admin' as const }]
    // The password goes to a temp file first and takes its name only once users.json is
    // ours: two trackers starting together on one data directory agree on one admin, and a
    // crash in between leaves the password in the temp file rather than lost.
    const suffix = `${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    const tmp = join(dataDir, `${INITIAL_ADMIN_PASSWORD_FILE}.${suffix}`)
    const usersTmp = `${path}.${suffix}`
    await writeFile(tmp, password + '\n', { mode: 0o600, flag: 'wx' })
    await writeFile(usersTmp, JSON.stringify({ users: created }, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
    try {
      await link(usersTmp, path) // atomic, and fails if the name exists: written whole, once
      initialPasswordFile = join(dataDir, INITIAL_ADMIN_PASSWORD_FILE)
      await rename(tmp, initialPasswordFile)
      users = created
    } catch (err) {
      await unlink(tmp).catch(() => {})
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      return await openDirectory(dataDir) // another tracker made it first
    } finally {
      await unlink(usersTmp).catch(() => {})
    }
  } else {
    const parsed = UsersFileSchema.safeParse(JSON.parse(text))
    if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
    users = parsed.data.users
  }
  const byName = new Map(users.map((u) => [u.user, u]))
  // compared against when the user does not exist, so an unknown name costs the same
  const decoy = await hashPassword(randomBytes(16).toString('hex'))
  return {
    initialPasswordFile,
    directory: {
      find: (user) => byName.get(user),
      async check (user, password) {
        if (user.length > MAX_LOGIN_FIELD_CHARS || password.length > MAX_LOGIN_FIELD_CHARS) return undefined
        const found = byName.get(user)
        const ok = await verifyPassword(password, found?.passwordHash ?? decoy)
        return ok && found !== undefined ? found : undefined
      }
    }
  }
}

export type { Role }
