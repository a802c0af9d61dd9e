// The node's read-only NBD server, read by QEMU's own NBD client (qemu-img, qemu-io): the
// bytes come out exactly, a read of data not yet there waits for it (and is never answered
// with anything else), writes are refused, a qcow2 overlay over the export takes the
// guest's writes, and a client that breaks the protocol is dropped without harming others.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, rm, stat } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startNbdServer } from '../../../node/block/nbd-server.ts'
import type { BlockSource, NbdServer } from '../../../node/block/nbd-server.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

const run = promisify(execFile)
const SIZE = 4 * 2 ** 20
const data = randomBytes(SIZE)
let dir: string
let server: NbdServer
/** reads of the 'slow' export wait until this resolves */
let release: () => void = () => {}
let gate = new Promise<void>((resolve) => { release = resolve })
let slowReads = 0
let readArrived: () => void = () => {}

const bufferSource = (bytes: Buffer): BlockSource => ({
  size: bytes.byteLength,
  read: async (offset, length) => bytes.subarray(offset, offset + length)
})

test.before(async () => {
  dir = await makeTmpDir('branchcast-nbd-')
  server = await startNbdServer({
    socketPath: join(dir, 'nbd.sock'),
    lookup: (name) => {
      if (name === 'disk') return bufferSource(data)
      if (name === 'slow') {
        return {
          size: SIZE,
          read: async (offset, length, signal) => {
            slowReads++
            readArrived()
            await Promise.race([gate, new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))])
            return data.subarray(offset, offset + length)
          }
        }
      }
      if (name === 'broken') return { size: SIZE, read: async () => { throw new Error('chunk never verified') } }
      return undefined
    }
  })
})

test.after(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

const uri = (name: string): string => `nbd+unix:///${name}?socket=${server.socketPath}`

test('the socket is private to the user', async () => {
  assert.is((await stat(server.socketPath)).mode & 0o777, 0o600)
})

test('qemu-img reads the export byte for byte', async () => {
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', uri('disk')])).stdout) as { 'virtual-size': number }
  assert.is(info['virtual-size'], SIZE)
  const out = join(dir, 'copy.raw')
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('disk'), out])
  assert.ok(data.equals(await readFile(out)), 'bytes differ')
})

test('a read waits for its data and is answered only once it is there', async () => {
  slowReads = 0
  let done = false
  const arrived = new Promise<void>((resolve) => { readArrived = resolve })
  const reading = run('qemu-io', ['-r', '-f', 'raw', '-c', `read -P ${data[65_536]!} 65536 1`, uri('slow')]).then((r) => { done = true; return r })
  await arrived // the read has reached the source, which holds it
  assert.ok(slowReads > 0)
  // a round trip to the server after it: the held read is still unanswered
  assert.is((JSON.parse((await run('qemu-img', ['info', '--output=json', uri('disk')])).stdout) as { 'virtual-size': number })['virtual-size'], SIZE)
  assert.is(done, false, 'no answer before the data is there')
  release()
  const r = await reading
  assert.match(r.stdout, /read 1\/1 bytes/)
  gate = new Promise<void>((resolve) => { release = resolve })
})

test('a read the source cannot serve is an I/O error, not made-up bytes', async () => {
  const r = await run('qemu-io', ['-r', '-f', 'raw', '-c', 'read 0 4096', uri('broken')]).catch((err: { stdout: string, stderr: string }) => err)
  assert.match(`${r.stdout}${r.stderr}`, /Input\/output error/)
})

test('writes are refused; a qcow2 overlay over the export takes them and the base is unchanged', async () => {
  const w = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 7 0 4096', uri('disk')]).catch((err: { stdout: string, stderr: string }) => err)
  assert.match(`${w.stdout}${w.stderr}`, /read-only|Operation not permitted|Permission denied/i)
  const overlay = join(dir, 'overlay.qcow2')
  await run('qemu-img', ['create', '-f', 'qcow2', '-b', uri('disk'), '-F', 'raw', overlay])
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 7 0 4096', overlay])
  const back = await run('qemu-io', ['-f', 'qcow2', '-c', 'read -P 7 0 4096', '-c', `read -P ${data[8192]!} 8192 1`, overlay])
  assert.match(back.stdout, /read 4096\/4096 bytes/)
  assert.match(back.stdout, /read 1\/1 bytes/)
  assert.not.match(back.stdout, /Pattern verification failed/)
  const out = join(dir, 'after.raw')
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('disk'), out])
  assert.ok(data.equals(await readFile(out)), 'the base was written to')
})

test('an unknown export is refused', async () => {
  const r = await run('qemu-img', ['info', uri('nope')]).catch((err: { stderr: string }) => err)
  assert.match(r.stderr, /export|not available|unknown/i)
})

test('a client breaking the protocol is dropped; the server goes on serving', async () => {
  for (const garbage of [Buffer.alloc(64, 0xff), Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('IHAVEOPT'), Buffer.from([0, 0, 0, 7, 0x7f, 0xff, 0xff, 0xff])])]) {
    const closed = await new Promise<boolean>((resolve) => {
      const s = createConnection(server.socketPath)
      s.on('error', () => {})
      s.once('data', () => s.write(garbage))
      s.once('close', () => resolve(true))
      setTimeout(() => { s.destroy(); resolve(false) }, 5_000).unref()
    })
    assert.ok(closed, 'the server closed the connection')
  }
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', uri('disk')])).stdout) as { 'virtual-size': number }
  assert.is(info['virtual-size'], SIZE)
})

test.run()
