// `branchcast login` / `branchcast logout`: the desk's OpenID Connect login (device grant).
import { UsageError, abortOnSignals, defineCommand } from '../../protocol/index.ts'
import { deviceLogin, deviceLogout, loginFilePath } from '../auth/index.ts'
import { DEFAULT_NODE_DATA_DIR, loadNodeConfig, updateNodeConfigFile } from '../config.ts'

const LOGIN_USAGE = `Usage: branchcast login [--tracker URL] [--data DIR]

Signs this desk in with the tracker's OpenID Connect provider (device grant):
prints a URL and a code to enter there from any browser, waits for the
approval, then keeps the refresh token in <data>/login.json (mode 0600).
"branchcast node" uses it when it has no API token; an API token from
"branchcast enroll" keeps working as before.

Options:
  --tracker URL        tracker base URL [env BRANCHCAST_TRACKER, or the
                       one saved in <data>/config.json]
  --data DIR           data directory (default .data/node)
                       [env BRANCHCAST_NODE_DATA]`

const LOGOUT_USAGE = `Usage: branchcast logout [--data DIR]

Revokes the refresh token "branchcast login" stored and deletes it.

Options:
  --data DIR           data directory (default .data/node)
                       [env BRANCHCAST_NODE_DATA]`

const login = defineCommand({ name: 'login', usage: LOGIN_USAGE, flags: { tracker: 'string', data: 'string' } })
const logout = defineCommand({ name: 'logout', usage: LOGOUT_USAGE, flags: { data: 'string' } })

const dataDirOf = (flag: string | undefined): string => flag ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)

export async function main (argv: string[]): Promise<number> {
  const cli = login.parse(argv)
  if (cli === undefined) return 0
  const dataDir = dataDirOf(cli.values.data)
  const tracker = cli.values.tracker ?? loadNodeConfig({ flags: { dataDir } }).tracker
  if (tracker === undefined || tracker === '') throw new UsageError('--tracker is required (or set BRANCHCAST_TRACKER)')
  const interrupt = abortOnSignals()
  const done = await deviceLogin({
    tracker,
    dataDir,
    signal: interrupt.signal,
    prompt ({ verificationUri, verificationUriComplete, userCode, expiresInSeconds }) {
      process.stdout.write(`To sign in, open ${verificationUri} in a browser and enter the code ${userCode}\n` +
        (verificationUriComplete === undefined ? '' : `  (or open ${verificationUriComplete})\n`) +
        `Waiting for approval (the code expires in ${Math.round(expiresInSeconds / 60)} min)…\n`)
    }
  }).finally(() => { interrupt.dispose() })
  await updateNodeConfigFile(dataDir, { tracker: done.tracker })
  process.stdout.write(`logged in${done.user === undefined ? '' : ` as ${done.user}`}; login kept in ${loginFilePath(dataDir)} (mode 0600)\n`)
  return 0
}

export async function logoutMain (argv: string[]): Promise<number> {
  const cli = logout.parse(argv)
  if (cli === undefined) return 0
  const dataDir = dataDirOf(cli.values.data)
  const { removed, revoked } = await deviceLogout(dataDir)
  process.stdout.write(!removed ? 'not logged in\n' : revoked ? 'logged out (refresh token revoked and deleted)\n' : 'logged out (deleted; the provider could not be reached to revoke it)\n')
  return 0
}
