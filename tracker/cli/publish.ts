// `branchcast publish FILE --image NAME`: stream a disk image to the tracker as a new
// version, with progress (bytes, rate, ETA) on a terminal and one JSON object with --json.
import { open, stat } from 'node:fs/promises'
import { UsageError, abortOnSignals, createProgressBar, defineCommand, errorCode, formatBytes, formatClock } from '../../protocol/index.ts'
import type { UploadResult } from '../../protocol/index.ts'

const HELP = `Usage: branchcast publish FILE --image NAME [--publish] [--create] [options]

Uploads FILE (a raw or qcow2 disk image) as a new version of image NAME. The
tracker chunks it as it arrives and stores only chunks it does not have yet.

Options:
  --image NAME      the image (create it first: POST /api/v1/images)
  --publish         publish the version at once (default: leave a draft)
  --create          create the image first if it does not exist`

const command = defineCommand({
  name: 'publish',
  usage: HELP,
  flags: { image: 'string', publish: 'boolean', create: 'boolean' },
  positionals: true,
  api: true,
  json: 'print one JSON object (the tracker\'s answer), no progress'
})

/** bytes per file read: large enough for few syscalls, small enough to keep memory flat */
const READ_BYTES = 1024 * 1024

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const file = positionals[0]
  if (file === undefined || positionals.length > 1 || values.image === undefined) throw new UsageError('needs one FILE and --image NAME')
  const client = cli.client()
  const size = (await stat(file)).size
  if (values.create === true) {
    try {
      await client.request('POST', '/api/v1/images', { json: { name: values.image } })
    } catch (err) {
      if (errorCode(err) !== 'ERR_CONFLICT') throw err
    }
  }
  const bar = createProgressBar({ json: cli.json })
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
      bar.update({ doneBytes: sent, totalBytes: size })
      controller.enqueue(buf.subarray(0, bytesRead))
    },
    async cancel () { await fh.close() }
  }, { highWaterMark: 2 })
  const interrupt = abortOnSignals()
  let r: UploadResult
  try {
    r = await client.json<UploadResult>('POST', `/api/v1/images/${encodeURIComponent(values.image)}/versions`, {
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      query: { publish: values.publish === true ? 'true' : undefined },
      signal: interrupt.signal
    })
  } finally {
    bar.done()
    interrupt.dispose()
    await fh.close().catch(() => {})
  }
  const secs = r.durationMs / 1000
  cli.print(r, () => `${r.image} version ${r.version} (${r.state}): ${formatBytes(r.totalBytes)} in ${r.chunkCount} chunks, ` +
    `${formatBytes(r.newBytes)} new, ${formatBytes(r.storedBytes)} already stored, ` +
    `${formatBytes(secs > 0 ? r.totalBytes / secs : 0)}/s over ${formatClock(r.durationMs)}\n` +
    `manifest ${r.manifestId}`)
  return 0
}
