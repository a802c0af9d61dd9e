// `branchcast node`: run the node daemon until SIGINT/SIGTERM.
import { parseArgs } from 'node:util'
import { loadNodeConfig, NodeConfigError } from '../config.ts'
import { readyLine, startNode } from '../daemon/index.ts'
import { parseBytes } from './units.ts'

export const USAGE = `Usage: branchcast node [options]

Runs the node: the libp2p peer serving its chunk cache, the durable event reporter, and the
local control API the "pull" command talks to. Prints
"branchcast node ready peer=<id> control=<url>" once ready; stops on SIGINT/SIGTERM.

Options:
  --data DIR           data directory (default .data/node, env BRANCHCAST_NODE_DATA)
  --tracker URL        tracker base URL (env BRANCHCAST_TRACKER; saved by "enroll")
  --token TOKEN        API token (env BRANCHCAST_TOKEN; saved by "enroll")
  --site NAME          branch/site announced to the tracker (env BRANCHCAST_SITE)
  --listen MULTIADDR   libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/0)
  --cache-max SIZE     chunk cache size limit (e.g. 20GiB)
  --upload-rate RATE   cap on bytes/s uploaded to peers (e.g. 10MiB)
  --origin-rate RATE   cap on bytes/s from the origin (benchmarks)
  --no-mdns            do not look for LAN peers by mDNS
  --config FILE        JSON config file (default <data>/config.json)
  --log-level LEVEL    debug | info | warn | error | silent`

export async function main (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      tracker: { type: 'string' },
      token: { type: 'string' },
      site: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'cache-max': { type: 'string' },
      'upload-rate': { type: 'string' },
      'origin-rate': { type: 'string' },
      'no-mdns': { type: 'boolean' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true
  })
  if (values.help === true) { console.log(USAGE); return 0 }
  const config = loadNodeConfig({
    flags: {
      dataDir: values.data,
      config: values.config,
      tracker: values.tracker,
      token: values.token,
      site: values.site,
      listen: values.listen,
      cacheMaxBytes: parseBytes(values['cache-max'], '--cache-max'),
      uploadRateBytesPerSec: parseBytes(values['upload-rate'], '--upload-rate'),
      originRateBytesPerSec: parseBytes(values['origin-rate'], '--origin-rate'),
      mdns: values['no-mdns'] === true ? false : undefined,
      logLevel: values['log-level'] as 'info' | undefined
    }
  })
  let node
  try {
    node = await startNode({ config })
  } catch (err) {
    if (err instanceof NodeConfigError) { console.error(`branchcast node: ${err.message}`); return 2 }
    throw err
  }
  process.stdout.write(readyLine(node) + '\n')
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  const forced = setTimeout(() => { process.exit(1) }, 15_000)
  forced.unref()
  await node.stop()
  return 0
}
