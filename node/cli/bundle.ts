// `branchcast bundle IMAGE OUT` and `branchcast import BUNDLE`: offline media through the running node.
import { resolve } from 'node:path'
import { UsageError, abortOnSignals, createProgressBar, defineCommand, errorJson, formatBytes, integer, readFlag } from '../../protocol/index.ts'
import { DEFAULT_NODE_DATA_DIR } from '../config.ts'
// the client alone: the server half (hono, zod) would double these commands' start-up
import { createControlClient, readControlFile } from '../control/client.ts'
import type { ImportReport, MakeBundleReport } from '../bundle/index.ts'
import { describeReport, summaryOf } from './pull.ts'

const DATA_LINES = `  --data DIR        the node's data directory (default .data/node)
                    [env BRANCHCAST_NODE_DATA]`

const BUNDLE_USAGE = `Usage: branchcast bundle IMAGE [--version N] [--since M] [--force]
         [--data DIR] [--json] OUT

Writes a self-verifying bundle of a version the running node holds, for a
USB stick or a share: its signed manifest, chunk list and chunks ("branchcast
import" on another desk takes it). With --since M, only the chunks version M
lacks: M's chunk list comes from this node, else from the tracker and origin.

Options:
  --version N       the version (default: the newest ready one held)
  --since M         leave out every chunk version M has
  --force           replace OUT if it exists
${DATA_LINES}`

const IMPORT_USAGE = `Usage: branchcast import [--data DIR] [--json] BUNDLE

Makes the version a bundle holds ready on the running node. Its manifest must
be signed by the pinned repository key and not older than the accepted version.
Every chunk is hashed against its id: one that does not match is refused and
fetched from peers or the origin; what the bundle and this disk lack comes from
the network. With everything at hand, no network is needed.

Options:
${DATA_LINES}`

const bundleCommand = defineCommand({ name: 'bundle', usage: BUNDLE_USAGE, flags: { version: 'string', since: 'string', force: 'boolean', data: 'string' }, positionals: true, json: 'print only the summary (or the error) as JSON' })
const importCommand = defineCommand({ name: 'import', usage: IMPORT_USAGE, flags: { data: 'string' }, positionals: true, json: 'print only the summary (or the error) as JSON' })

function dataDirOf (flag: string | undefined): string {
  return flag ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
}

export function describeBundle (r: MakeBundleReport): string {
  return [
    `${r.image} v${r.version}${r.since === null ? '' : ` (since v${r.since})`} bundled: ${r.path}`,
    `  chunks   ${r.chunks} (${formatBytes(r.chunkBytes)}), file ${formatBytes(r.fileBytes)}`
  ].join('\n')
}

export function describeImport (r: ImportReport): string {
  const b = r.bundle
  return [
    describeReport(r.pull),
    `  bundle   ${formatBytes(b.bytesUsed)} used of ${b.chunks} chunk(s)`,
    ...(b.refused > 0 ? [`  REFUSED  ${b.refused} chunk(s) of the bundle did not match their ids; fetched from the network instead`] : [])
  ].join('\n')
}

/** Runs `act` against the node, with a progress bar; `--json` failures print on stdout too. */
async function withNode<R> (cli: { json: boolean, print: (value: unknown, human: string | (() => string)) => void }, dataDir: string, fallbackCode: string,
  act: (client: ReturnType<typeof createControlClient>, signal: AbortSignal, progress: (label: string, done: number, total: number) => void) => Promise<R>,
  show: (r: R) => [unknown, () => string]): Promise<number> {
  const interrupt = abortOnSignals()
  const bar = createProgressBar({ json: cli.json })
  try {
    const r = await act(createControlClient(await readControlFile(dataDir)), interrupt.signal, (label, done, total) => bar.update({ label, doneBytes: done, totalBytes: total }))
    bar.done()
    cli.print(...show(r))
    return 0
  } catch (err) {
    bar.done()
    if (!cli.json) throw err
    cli.print({ error: errorJson(err, fallbackCode) }, '')
    return 1
  } finally {
    interrupt.dispose()
  }
}

export async function main (argv: string[]): Promise<number> {
  const cli = bundleCommand.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  if (positionals.length !== 2) throw new UsageError('needs IMAGE and OUT')
  const request = {
    image: positionals[0]!,
    out: resolve(positionals[1]!),
    version: readFlag('--version', values.version, integer(1)),
    since: readFlag('--since', values.since, integer(1)),
    force: values.force === true
  }
  return await withNode(cli, dataDirOf(values.data), 'ERR_BUNDLE_FAILED',
    async (client, signal, progress) => await client.bundle(request, { signal, onProgress: (p) => progress('bundle  ', p.doneBytes, p.totalBytes) }),
    (r) => [r, () => describeBundle(r)])
}

export async function importMain (argv: string[]): Promise<number> {
  const cli = importCommand.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  if (positionals.length !== 1) throw new UsageError('needs one BUNDLE')
  return await withNode(cli, dataDirOf(values.data), 'ERR_IMPORT_FAILED',
    async (client, signal, progress) => await client.importBundle(resolve(positionals[0]!), { signal, onProgress: (p) => progress(p.phase.padEnd(8), p.doneBytes, p.totalBytes) }),
    (r) => [{ ...summaryOf(r.pull), bundle: r.bundle }, () => describeImport(r)])
}
