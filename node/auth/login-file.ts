/**
 * `<data>/login.json`: what `branchcast login` obtained — the issuer and client to refresh
 * with, the refresh token and the current access token. Mode 0600 in a 0700 directory:
 * only the desk's user reads it. Written atomically (a rotated refresh token is never half
 * written, or lost to a crash between two writes).
 */
import { chmod, mkdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../state-file.ts'

export const LOGIN_FILE = 'login.json'

export const LoginFileSchema = z.object({
  tracker: z.string().url(),
  issuer: z.string().url(),
  clientId: z.string().min(1),
  /** the resource access tokens are asked for (the tracker's audience) */
  audience: z.string().min(1),
  user: z.string().optional(),
  refreshToken: z.string().min(1),
  accessToken: z.string().min(1),
  accessTokenExpiresAtMs: z.number().int()
}).strict()
export type LoginFile = z.infer<typeof LoginFileSchema>

export function loginFilePath (dataDir: string): string {
  return join(dataDir, LOGIN_FILE)
}

export async function readLoginFile (dataDir: string): Promise<LoginFile | undefined> {
  const value = await readJsonFile<unknown>(loginFilePath(dataDir))
  if (value === undefined) return undefined
  const parsed = LoginFileSchema.safeParse(value)
  if (!parsed.success) throw new Error(`${loginFilePath(dataDir)} is malformed: run "branchcast login" again`)
  return parsed.data
}

export async function writeLoginFile (dataDir: string, login: LoginFile): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await chmod(dataDir, 0o700) // an existing directory too: the file's neighbours are secrets as well
  await writeJsonFile(loginFilePath(dataDir), login, 0o600)
}

/** True when a file was there. */
export async function deleteLoginFile (dataDir: string): Promise<boolean> {
  try {
    await unlink(loginFilePath(dataDir))
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}
