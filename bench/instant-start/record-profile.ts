/**
 * Records a boot profile for bench/instant-start: boots the guest once from a version a
 * node holds whole, read through the node's NBD server with `createBootRecorder` around the
 * image source, until the boot marker; prints the chunk ids the boot read, in first-read
 * order, as one JSON line. The bench publishes them as the version's profile (an admin's
 * `PUT …/versions/{n}/boot-profile`). A node does not record profiles by itself yet; once
 * it does, the bench can take the one its first lazy boot recorded instead.
 *
 *   npx node bench/instant-start/record-profile.ts '<json RecordArgs>'
 */
import { spawn } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createBootRecorder } from '../../node/block/boot-recorder.ts'
import { imageBlockSource } from '../../node/block/image-source.ts'
import { startNbdServer } from '../../node/block/nbd-server.ts'
import { createImageStore } from '../../node/image-store/index.ts'
import { createLogger } from '../../protocol/logger.ts'

export interface RecordArgs {
  /** a stopped node's data directory holding `image` whole */
  dataDir: string
  image: string
  kernel: string
  initrd: string
  append: string
  memoryMb: number
  marker: string
  bootTimeoutMs: number
}

export interface RecordResult { chunks: string[], bytes: number, bootedMs: number }

export async function recordProfile (a: RecordArgs): Promise<RecordResult> {
  const images = await createImageStore({ dataDir: a.dataDir, logger: createLogger({ level: 'silent' }) })
  const socketPath = join(a.dataDir, 'record-nbd.sock')
  const serial = join(a.dataDir, 'record-serial.log')
  try {
    const version = (await images.versions(a.image))[0]
    if (version?.complete !== true) throw new Error(`${a.dataDir} does not hold ${a.image} whole`)
    const source = imageBlockSource(version, { size: version.manifest.totalBytes, want: () => {} })
    const recorder = createBootRecorder(source, { table: version.table })
    const server = await startNbdServer({ socketPath, lookup: (n) => n === 'disk' ? recorder.source : undefined })
    const t0 = performance.now()
    const qemu = spawn('qemu-system-x86_64', [
      '-machine', 'pc', '-accel', 'tcg', '-m', String(a.memoryMb), '-smp', '1', '-nodefaults', '-display', 'none',
      '-drive', `file=nbd+unix:///disk?socket=${socketPath},format=raw,if=virtio,snapshot=on`, '-serial', `file:${serial}`, '-nic', 'none',
      '-kernel', a.kernel, '-initrd', a.initrd, '-append', a.append
    ], { stdio: 'ignore' })
    const exited = new Promise<never>((_resolve, reject) => qemu.once('exit', (code) => { reject(new Error(`qemu exited with ${code} before the boot marker`)) }))
    exited.catch(() => {})
    try {
      for (;;) {
        if ((await readFile(serial, 'utf8').catch(() => '')).includes(a.marker)) break
        if (performance.now() - t0 > a.bootTimeoutMs) throw new Error('no boot marker in time')
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), exited])
      }
      const bootedMs = performance.now() - t0
      const rec = recorder.stop()
      return { chunks: rec.chunks, bytes: rec.bytes, bootedMs }
    } finally {
      qemu.kill('SIGKILL')
      await server.close()
    }
  } finally {
    await images.close()
    await rm(serial, { force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // exit only once the line is written: stdout to a pipe is asynchronous, and a profile is ~1 MB
  process.stdout.write(`${JSON.stringify(await recordProfile(JSON.parse(process.argv[2]!) as RecordArgs))}\n`, () => process.exit(0))
}
