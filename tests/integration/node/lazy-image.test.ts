// An image read through the node's NBD server while it is still being pulled (instant
// start's block path): QEMU's own client reads the whole export during a pull held to
// 512 KiB/s, reads of chunks not yet there wait for them and jump the pull's queue (booked
// as on-demand origin bytes), and every byte it gets is the published image's.
import { execFile } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { imageBlockSource } from '../../../node/block/image-source.ts'
import { createPullDemand } from '../../../node/pull/index.ts'
import { startNbdServer } from '../../../node/block/nbd-server.ts'
import type { ImageVersion } from '../../../node/image-store/index.ts'
import { publishAndAssign, randomImage, startTestNode } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { startTestTracker } from '../../helpers/tracker.ts'

const run = promisify(execFile)

test('qemu-img reads an image through NBD while it is pulled: reads wait for their chunks, bytes are exact', async () => {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-lazy-')
  const ws = await publishAndAssign(tt, { bytes: randomImage(3 * 2 ** 20) })
  const node = await startTestNode(tt, ws.userToken)
  try {
    let opened: (v: ImageVersion) => void = () => {}
    const versionOpen = new Promise<ImageVersion>((resolve) => { opened = resolve })
    const demand = createPullDemand()
    const pulling = node.puller.pull({
      image: ws.image,
      originRateBytesPerSec: 512 * 1024,
      demand,
      onProgress: (p) => { if (p.phase === 'transfer') void node.images.versions(ws.image).then((vs) => { if (vs[0] !== undefined) opened(vs[0]) }) }
    })
    const version = await versionOpen
    assert.is(version.complete, false, 'the export is served before the pull is done')
    const waitedFor = new Set<number>()
    const server = await startNbdServer({
      socketPath: join(dir, 'nbd.sock'),
      lookup: (name) => name === ws.image ? imageBlockSource(version, { size: ws.imageBytes.byteLength, want: (units) => { for (const u of units) waitedFor.add(u); demand.want(units) } }) : undefined
    })
    try {
      // The image's last bytes, asked first: the pull (ascending, ~6 s at its cap) fetches
      // them at once for the waiting reader, so they arrive long before the rest.
      const tail = ws.imageBytes.byteLength - 4096
      const read = await run('qemu-io', ['-r', '-f', 'raw', '-c', `read -P ${ws.imageBytes[tail]!} ${tail} 1`, `nbd+unix:///${ws.image}?socket=${server.socketPath}`])
      assert.match(read.stdout, /read 1\/1 bytes/)
      assert.is(version.complete, false, 'the waited-for chunk came ahead of the pull')

      const out = join(dir, 'read.raw')
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', `nbd+unix:///${ws.image}?socket=${server.socketPath}`, out])
      assert.ok(Buffer.from(ws.imageBytes).equals(await readFile(out)), 'bytes read through NBD differ from the image')
      assert.ok(waitedFor.size > 0, 'some reads waited for their chunks')
      const report = await pulling
      assert.is(report.sha256, ws.sha256)
      assert.ok(report.originBytesByReason['on-demand']! > 0, JSON.stringify(report.originBytesByReason))
    } finally {
      await server.close()
    }
  } finally {
    await node.stop()
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
