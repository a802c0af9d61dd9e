// `branchcast tracker`: run the management server, tracker and built-in origin.
import { defineCommand, integer, readFlag, untilStopSignal } from '../../protocol/index.ts'
import { loadTrackerConfig } from '../config.ts'
import { startTracker } from '../server.ts'
import { join } from 'node:path'
import { bootstrapAdminToken } from '../identity/index.ts'
import { USERS_FILE } from '../oidc/index.ts'

const HELP = `Usage: branchcast tracker [options]

Runs the tracker (management server, swarm tracker and built-in HTTP origin).

Options:
  --data DIR        data directory: database, chunk store, keys
                    [env BRANCHCAST_DATA, default .data/tracker]
  --host HOST       address to listen on (default 127.0.0.1)
                    [env BRANCHCAST_HOST]
  --port PORT       port, 0 picks a free one (default 8470)
                    [env BRANCHCAST_PORT]
  --db URL          sqlite:PATH or mssql://user:pass@host:port/db
                    [env BRANCHCAST_DB, default sqlite:<data>/tracker.db]
  --config FILE     JSON config file, the options' keys [env BRANCHCAST_CONFIG]
  --log-level L     debug|info|warn|error|silent (default info)
                    [env BRANCHCAST_LOG_LEVEL]`

const command = defineCommand({
  name: 'tracker',
  usage: HELP,
  flags: { data: 'string', host: 'string', port: 'string', db: 'string', config: 'string', 'log-level': 'string' }
})

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values } = cli
  const config = loadTrackerConfig({
    flags: {
      config: values.config,
      dataDir: values.data,
      host: values.host,
      port: readFlag('--port', values.port, integer(0, 65535)),
      db: values.db,
      logLevel: values['log-level'] as 'info' | undefined
    }
  })
  const tracker = await startTracker(config)
  const minted = await bootstrapAdminToken(tracker.components.store, config.dataDir, Date.now())
  const password = tracker.components.oidc.initialPasswordFile
  const auth = tracker.components.oidc.authConfig()
  // One write, so whoever waits for the "listening on" line also has the first-start note.
  // Never the secrets themselves: only where they are (0600 files).
  process.stdout.write(`branchcast tracker listening on ${tracker.url}\n` +
    `console: ${tracker.url}/console (sign in: ${auth.embedded ? 'the development provider, users in ' + join(config.dataDir, USERS_FILE) : auth.issuer})\n` +
    (password === undefined
      ? ''
      : `first start: sign in to the console as "admin" with the password in ${password} (mode 0600)\n`) +
    (minted === undefined
      ? ''
      : `first start: an admin API token was written to ${minted} (mode 0600)\n` +
        `  export BRANCHCAST_TRACKER=${tracker.url} BRANCHCAST_TOKEN=$(cat ${minted})\n`))
  await untilStopSignal()
  await tracker.stop()
  return 0
}
