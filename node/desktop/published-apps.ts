/**
 * The published applications of each workspace as desktop entries in our own folder,
 * `<applications>/branchcast/<image>/`: one `.desktop` file (and, for a data-URL icon,
 * one image file) per application. A sync makes the folder hold exactly the policy's
 * applications: changed files are replaced atomically (a temp file created exclusively,
 * then renamed), files of applications no longer published are deleted, and an empty
 * list removes the image's folder. Nothing is written outside our folder: file names
 * are ours (a slug and a hash of the app's name), and a symlink where our folders should
 * be is refused rather than followed.
 */
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readFile, readdir, rename, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../protocol/index.ts'
import { ImageNameSchema } from '../../protocol/index.ts'
import { APPLICATIONS_SUBDIR } from './constants.ts'
import { appFileStem, renderDesktopEntry } from './desktop-entry.ts'
import { hostIcon } from './icon.ts'
import type { PublishedApp, PublishedAppsSync } from './index.ts'

/** Files a sync may have written: anything else in our folder is left alone. */
const OURS = /^[a-z0-9-]+\.(desktop|png|svg)$/
const TEMP = /^\.[a-z0-9.-]+\.tmp-[0-9a-f]+$/

/** Makes `dir` if missing; refuses anything there that is not a real directory (a symlink planted to send our writes elsewhere). */
async function ownDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 })
  const st = await lstat(dir)
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory of ours (a symlink or a file): not writing desktop entries through it`)
}

/** Replaces `path` with `data` unless it already holds it; true when written. */
async function writeIfChanged (dir: string, name: string, data: Buffer): Promise<boolean> {
  const path = join(dir, name)
  const st = await lstat(path).catch(() => undefined)
  if (st?.isFile() === true && (await readFile(path)).equals(data)) return false
  const tmp = join(dir, `.${name}.tmp-${randomBytes(6).toString('hex')}`)
  const fh = await open(tmp, 'wx', 0o644)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  return true
}

export class PublishedAppsFolder {
  readonly root: string
  readonly #argv: (image: string, app: string) => string[]
  readonly #log: Logger
  #queue: Promise<unknown> = Promise.resolve()

  constructor (root: string, argv: (image: string, app: string) => string[], logger: Logger) {
    this.root = root
    this.#argv = argv
    this.#log = logger
  }

  /** The folder of one image's entries. */
  folder (image: string): string {
    const r = ImageNameSchema.safeParse(image)
    if (!r.success) throw new TypeError(`not an image name: ${r.error.issues[0]?.message ?? ''}`)
    return join(this.root, APPLICATIONS_SUBDIR, image)
  }

  async sync (image: string, apps: readonly PublishedApp[]): Promise<PublishedAppsSync> {
    const dir = this.folder(image)
    // one sync at a time: two policy changes racing must not interleave their files
    const run = this.#queue.then(async () => await this.#sync(image, dir, apps))
    this.#queue = run.catch(() => {})
    return await run
  }

  async #sync (image: string, dir: string, apps: readonly PublishedApp[]): Promise<PublishedAppsSync> {
    const want = new Map<string, Buffer>()
    for (const app of apps) {
      const stem = appFileStem(app.name)
      const icon = hostIcon(app.icon)
      let iconValue: string
      if (icon.kind === 'file') {
        want.set(`${stem}.${icon.ext}`, icon.bytes)
        iconValue = join(dir, `${stem}.${icon.ext}`)
      } else {
        iconValue = icon.name
      }
      const text = renderDesktopEntry({
        name: app.name,
        comment: `${app.name} in the ${image} workspace`,
        exec: this.#argv(image, app.name),
        icon: iconValue,
        image,
        app: app.name
      })
      want.set(`${stem}.desktop`, Buffer.from(text))
    }
    const written: string[] = []
    if (want.size > 0) {
      await ownDir(join(this.root, APPLICATIONS_SUBDIR))
      await ownDir(dir)
      // icons before the entries that name them
      const order = [...want.keys()].sort((a, b) => Number(a.endsWith('.desktop')) - Number(b.endsWith('.desktop')))
      for (const name of order) if (await writeIfChanged(dir, name, want.get(name)!)) written.push(name)
    }
    const removed: string[] = []
    const present = await readdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[]; throw err })
    for (const name of present) {
      if (want.has(name) || !(OURS.test(name) || TEMP.test(name))) continue
      await rm(join(dir, name), { force: true })
      if (!TEMP.test(name)) removed.push(name)
    }
    if (want.size === 0) {
      await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.#log.warn('the folder of a revoked workspace\'s applications is not empty: left in place', { dir, code: err.code })
      })
    }
    if (written.length > 0 || removed.length > 0) this.#log.info('published applications synced', { image, apps: apps.length, written: written.length, removed: removed.length })
    return { image, folder: dir, written, removed }
  }

  async list (image: string): Promise<string[]> {
    return (await readdir(this.folder(image)).catch(() => [] as string[])).filter((n) => n.endsWith('.desktop')).sort()
  }
}
