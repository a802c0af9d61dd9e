// `branchcast tracker`: run the management server, tracker and built-in origin.
import { parseArgs } from 'node:util'
import { loadTrackerConfig } from '../config.ts'
import { startTracker } from '../server.ts'
import { bootstrapAdminToken } from '../identity/index.ts'

const HELP = `Usage: branchcast tracker [options]

Runs the tracker (management server, swarm tracker and built-in HTTP origin).

Options:
  --data DIR        data directory: database, chunk store, keys   [env BRANCHCAST_DATA, default .data/tracker]
  --host HOST       address to listen on                            [env BRANCHCAST_HOST, default 127.0.0.1]
  --port PORT       port (0 picks a free one)                       [env BRANCHCAST_PORT, default 8470]
  --db URL          sqlite:PATH or mssql://user:pass@host:port/db   [env BRANCHCAST_DB, default sqlite:<data>/tracker.db]
  --config FILE     JSON config file (same keys as the options)     [env BRANCHCAST_CONFIG]
  --log-level L     debug|info|warn|error|silent                    [env BRANCHCAST_LOG_LEVEL, default info]
  -h, --help        this help`

export async function main (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true
  })
  if (values.help === true) { console.log(HELP); return 0 }
  const config = loadTrackerConfig({
    flags: {
      config: values.config,
      dataDir: values.data,
      host: values.host,
      port: values.port === undefined ? undefined : Number(values.port),
      db: values.db,
      logLevel: values['log-level'] as 'info' | undefined
    }
  })
  const tracker = await startTracker(config)
  const minted = await bootstrapAdminToken(tracker.components.store, config.dataDir, Date.now())
  // One write, so whoever waits for the "listening on" line also has the first-start note.
  process.stdout.write(`branchcast tracker listening on ${tracker.url}\n` + (minted === undefined
    ? ''
    : `first start: an admin API token was written to ${minted} (mode 0600)\n` +
      `  export BRANCHCAST_TRACKER=${tracker.url} BRANCHCAST_TOKEN=$(cat ${minted})\n`))
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      tracker.stop().then(resolve, resolve)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  return 0
}
