// `branchcast node`: run the node daemon until SIGINT/SIGTERM.
import { UsageError, defineCommand, parseRateBytesPerSec, readFlag, untilStopSignal } from '../../protocol/index.ts'
import { CACHE_MAX_REMOVED, loadNodeConfig } from '../config.ts'
import { readyLine, startNode } from '../daemon/index.ts'

const USAGE = `Usage: branchcast node [options]

Runs the node: the libp2p peer serving its images' chunks, the durable event
reporter, and the local control API the "pull" command talks to. Prints
"branchcast node ready peer=<id> control=<url>" once ready; stops on
SIGINT/SIGTERM.

Options:
  --data DIR           data directory (default .data/node)
                       [env BRANCHCAST_NODE_DATA]
  --tracker URL        tracker base URL (saved by "enroll")
                       [env BRANCHCAST_TRACKER]
  --token TOKEN        API token (saved by "enroll") [env BRANCHCAST_TOKEN]
  --site NAME          branch/site announced to the tracker
                       [env BRANCHCAST_SITE]
  --listen MULTIADDR   libp2p listen address, repeatable
                       (default /ip4/0.0.0.0/tcp/0)
  --upload-rate RATE   cap on bytes/s uploaded to peers (e.g. 10MiB)
  --cache-max SIZE     removed: there is no chunk cache to bound (refused)
  --origin-rate RATE   cap on bytes/s from the origin (benchmarks)
  --no-mdns            do not look for LAN peers by mDNS
  --config FILE        JSON config file (default <data>/config.json)
  --log-level LEVEL    debug | info | warn | error | silent`

const command = defineCommand({
  name: 'node',
  usage: USAGE,
  flags: {
    data: 'string', tracker: 'string', token: 'string', site: 'string', listen: 'string[]', 'cache-max': 'string',
    'upload-rate': 'string', 'origin-rate': 'string', 'no-mdns': 'boolean', config: 'string', 'log-level': 'string'
  }
})

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values } = cli
  // still parsed, so that an old command line hears why rather than "unknown flag"
  if (values['cache-max'] !== undefined) throw new UsageError(`--cache-max: ${CACHE_MAX_REMOVED}`)
  const config = loadNodeConfig({
    flags: {
      dataDir: values.data,
      config: values.config,
      // as given: the config file and the environment fill in what is missing, in their order
      tracker: values.tracker,
      token: values.token,
      site: values.site,
      listen: values.listen,
      uploadRateBytesPerSec: readFlag('--upload-rate', values['upload-rate'], parseRateBytesPerSec),
      originRateBytesPerSec: readFlag('--origin-rate', values['origin-rate'], parseRateBytesPerSec),
      mdns: values['no-mdns'] === true ? false : undefined,
      logLevel: values['log-level'] as 'info' | undefined
    }
  })
  // Listening before the start, so a SIGTERM that comes during it or right after the
  // ready line still stops the node in order instead of killing it.
  const stopSignal = untilStopSignal()
  const node = await startNode({ config })
  process.stdout.write(readyLine(node) + '\n')
  await stopSignal
  const forced = setTimeout(() => { process.exit(1) }, 15_000)
  forced.unref()
  await node.stop()
  return 0
}
