// `branchcast publish FILE --image NAME`: stream a disk image to the tracker as a new
// version, with progress (bytes, rate, ETA) on a terminal and one JSON object with --json.
import { open, stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { clientFromFlags } from '../../protocol/index.ts'
import type { ApiError, UploadResult } from '../../protocol/index.ts'

const HELP = `Usage: branchcast publish FILE --image NAME [--publish] [--create] [options]

Uploads FILE (a raw or qcow2 disk image) as a new version of image NAME. The tracker
chunks it as it arrives and stores only chunks it does not have yet.

Options:
  --image NAME      the image (create it first: POST /api/v1/images)
  --publish         publish the version at once (default: leave a draft)
  --create          create the image first if it does not exist
  --tracker URL     tracker base URL     [env BRANCHCAST_TRACKER, default http://127.0.0.1:8470]
  --token T         admin API token      [env BRANCHCAST_TOKEN]
  --json            print one JSON object (the tracker's answer), no progress
  -h, --help        this help`

/** bytes per file read: large enough for few syscalls, small enough to keep memory flat */
const READ_BYTES = 1024 * 1024

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
export function formatBytes (n: number): string {
  let i = 0
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${UNITS[i]}`
}

function formatSeconds (s: number): string {
  if (!Number.isFinite(s)) return '?'
  if (s < 60) return `${Math.round(s)}s`
  const m = Math.floor(s / 60)
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

/** A progress line on stderr, redrawn at most every 200 ms. */
function progress (total: number): { update: (sent: number) => void, done: () => void } {
  const started = performance.now()
  let last = 0
  const draw = (sent: number): void => {
    const secs = (performance.now() - started) / 1000
    const rate = secs > 0 ? sent / secs : 0
    const eta = rate > 0 ? (total - sent) / rate : Infinity
    const pct = total > 0 ? Math.floor(sent * 100 / total) : 100
    process.stderr.write(`\r\x1b[K${formatBytes(sent)} / ${formatBytes(total)}  ${pct}%  ${formatBytes(rate)}/s  ETA ${formatSeconds(eta)}`)
  }
  return {
    update (sent) {
      const now = performance.now()
      if (now - last < 200) return
      last = now
      draw(sent)
    },
    done () { process.stderr.write('\r\x1b[K') }
  }
}

export async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      publish: { type: 'boolean' },
      create: { type: 'boolean' },
      tracker: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    allowPositionals: true,
    strict: true
  })
  if (values.help === true) { console.log(HELP); return 0 }
  const file = positionals[0]
  if (file === undefined || positionals.length > 1 || values.image === undefined) {
    console.error(`branchcast publish: need one FILE and --image NAME\n\n${HELP}`)
    return 2
  }
  const client = clientFromFlags(values)
  const size = (await stat(file)).size
  if (values.create === true) {
    try {
      await client.request('POST', '/api/v1/images', { json: { name: values.image } })
    } catch (err) {
      if ((err as ApiError).code !== 'ERR_CONFLICT') { console.error(`branchcast publish: ${(err as Error).message}`); return 1 }
    }
  }
  const show = values.json !== true && process.stderr.isTTY
  const bar = show ? progress(size) : undefined
  let sent = 0
  // Pull-based: the next read happens only when fetch wants more, so memory stays at a few
  // buffers (Readable.toWeb over a file stream reads ahead without bound).
  const fh = await open(file, 'r')
  const body = new ReadableStream<Uint8Array>({
    async pull (controller) {
      const buf = Buffer.allocUnsafe(READ_BYTES)
      const { bytesRead } = await fh.read(buf, 0, READ_BYTES, sent)
      if (bytesRead === 0) { await fh.close(); controller.close(); return }
      sent += bytesRead
      bar?.update(sent)
      controller.enqueue(buf.subarray(0, bytesRead))
    },
    async cancel () { await fh.close() }
  }, { highWaterMark: 2 })
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort(new Error('interrupted')) }
  process.once('SIGINT', onSignal)
  let r: UploadResult
  try {
    r = await client.json<UploadResult>('POST', `/api/v1/images/${encodeURIComponent(values.image)}/versions`, {
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      query: { publish: values.publish === true ? 'true' : undefined },
      signal: controller.signal
    })
  } catch (err) {
    bar?.done()
    console.error(`branchcast publish: ${(err as Error).message}`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    await fh.close().catch(() => {})
  }
  bar?.done()
  if (values.json === true) {
    process.stdout.write(JSON.stringify(r) + '\n')
    return 0
  }
  const secs = r.durationMs / 1000
  console.log(`${r.image} version ${r.version} (${r.state}): ${formatBytes(r.totalBytes)} in ${r.chunkCount} chunks, ` +
    `${formatBytes(r.newBytes)} new, ${formatBytes(r.storedBytes)} already stored, ` +
    `${formatBytes(secs > 0 ? r.totalBytes / secs : 0)}/s over ${formatSeconds(secs)}`)
  console.log(`manifest ${r.manifestId}`)
  return 0
}
