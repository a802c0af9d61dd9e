// `branchcast enroll`: pin the tracker's repository and capability keys, save URL and token.
import { mkdir } from 'node:fs/promises'
import { UsageError, createApiClient, defineCommand } from '../../protocol/index.ts'
import { DEFAULT_NODE_DATA_DIR, updateNodeConfigFile } from '../config.ts'
import { createTrackerClient } from '../tracker-client.ts'
import { enroll } from '../trust.ts'

const USAGE = `Usage: branchcast enroll --tracker URL --token TOKEN [--data DIR] [--site NAME]
                         [--replace]

Pins the tracker's manifest-signing (repository) key and capability key in
<data>/trust.json and saves the tracker URL, token and site in
<data>/config.json (mode 0600), so "branchcast node" then starts without flags.
A node that pinned other keys refuses them unless --replace is given (an
administrator moved the repository).

Options:
  --tracker URL        tracker base URL [env BRANCHCAST_TRACKER]
  --token TOKEN        API token [env BRANCHCAST_TOKEN]
  --data DIR           data directory (default .data/node)
                       [env BRANCHCAST_NODE_DATA]
  --site NAME          branch/site the node announces
  --replace            pin the tracker's keys even where other keys were pinned`

const command = defineCommand({
  name: 'enroll',
  usage: USAGE,
  flags: { tracker: 'string', token: 'string', data: 'string', site: 'string', replace: 'boolean' }
})

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values } = cli
  // no default tracker here: enrolling pins keys, so it names the tracker it trusts
  const tracker = values.tracker ?? process.env.BRANCHCAST_TRACKER
  const token = values.token ?? process.env.BRANCHCAST_TOKEN
  if (tracker === undefined || token === undefined || tracker === '' || token === '') throw new UsageError('--tracker and --token are required')
  const dataDir = values.data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const baseUrl = tracker.replace(/\/+$/, '')
  const client = createTrackerClient(createApiClient({ baseUrl, token }))
  const keys = await client.keys({ signal: AbortSignal.timeout(30_000) })
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await enroll(dataDir, baseUrl, keys, { replace: values.replace === true })
  await updateNodeConfigFile(dataDir, { tracker: baseUrl, token, site: values.site })
  console.log(`enrolled ${dataDir} with ${baseUrl}: repository key ${keys.repository.keyId}, capability key ${keys.capability.keyId}`)
  return 0
}
