/**
 * Desktop integration: a workspace's published applications in the host's application
 * menu, as freedesktop desktop entries under `$XDG_DATA_HOME/applications/branchcast/`
 * (default `~/.local/share/applications`). Each entry runs `branchcast app -- IMAGE APP`,
 * which starts the workspace's VM if needed and runs the application in the guest.
 *
 * Whoever learns of a policy change calls `syncPublishedApps(image, apps)`; revocation is
 * `syncPublishedApps(image, [])`. A VM start syncs its workspace's entries too.
 */
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../../protocol/index.ts'
import { PublishedAppsFolder } from './published-apps.ts'

export { appFileStem, escapeValue, execValue, quoteExecArg, renderDesktopEntry } from './desktop-entry.ts'
export type { DesktopEntry } from './desktop-entry.ts'
export { hostIcon } from './icon.ts'
export type { HostIcon } from './icon.ts'
export { APPLICATIONS_SUBDIR, FALLBACK_ICON } from './constants.ts'

/** An application as a policy publishes it. */
export interface PublishedApp {
  name: string
  command: string
  icon?: string
}

/** What one sync changed, by file name in `folder`. */
export interface PublishedAppsSync {
  image: string
  folder: string
  written: string[]
  removed: string[]
}

export interface PublishedApps {
  /** Makes the image's entries exactly `apps` (`[]` removes them all, and the image's folder). */
  syncPublishedApps: (image: string, apps: readonly PublishedApp[]) => Promise<PublishedAppsSync>
  /** The `.desktop` files the image has now. */
  list: (image: string) => Promise<string[]>
  /** The folder an image's entries are in. */
  folder: (image: string) => string
}

export interface PublishedAppsInit {
  /** the `applications` folder; default `$XDG_DATA_HOME/applications`, `$XDG_DATA_HOME` defaulting to `~/.local/share` */
  applicationsDir?: string
  /** the command line that runs `branchcast` (default: this Node and this checkout's bin/branchcast.ts) */
  command?: readonly string[]
  /** the node's data directory, passed as `--data` so an entry finds this node */
  dataDir?: string
}

export interface PublishedAppsComponents {
  logger: Logger
}

/** `$XDG_DATA_HOME/applications`: a relative XDG_DATA_HOME is invalid by the spec and ignored. */
export function defaultApplicationsDir (env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME !== undefined && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share')
  return join(data, 'applications')
}

export function createPublishedApps (init: PublishedAppsInit, components: PublishedAppsComponents): PublishedApps {
  const command = [...(init.command ?? [process.execPath, fileURLToPath(new URL('../../bin/branchcast.ts', import.meta.url))])]
  if (command.length === 0 || command[0] === '') throw new TypeError('command must name a program')
  // absolute: a menu launches the entry from the user's home, not from where the node started
  const data = init.dataDir === undefined ? [] : ['--data', resolve(init.dataDir)]
  const dir = init.applicationsDir ?? defaultApplicationsDir()
  if (!isAbsolute(dir)) throw new TypeError('applicationsDir must be absolute')
  // "--" ends the flags: an application named "--help" is still a name
  const argv = (image: string, app: string): string[] => [...command, 'app', ...data, '--', image, app]
  const folder = new PublishedAppsFolder(dir, argv, components.logger.forComponent('node:desktop'))
  return {
    syncPublishedApps: async (image, apps) => await folder.sync(image, apps),
    list: async (image) => await folder.list(image),
    folder: (image) => folder.folder(image)
  }
}
