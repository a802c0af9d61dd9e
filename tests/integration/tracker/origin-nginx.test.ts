/**
 * nginx as the "IIS-like" static origin: a real nginx, configured by the text the tracker
 * renders, serving a real chunk store with signed, expiring URLs made by the tracker's
 * own code. Also runs the shared origin contract against it.
 */
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import { decodeStoredChunk } from '../../../protocol/store/chunk-codec.ts'
import { createChunkStore } from '../../../protocol/store/chunk-store.ts'
import type { ChunkStore } from '../../../protocol/store/chunk-store.ts'
import { fetchChunkFromOrigin, originChunkUrl } from '../../../node/origin/origin-client.ts'
import { loadTrackerConfig } from '../../../tracker/config.ts'
import { loadTrackerKeys } from '../../../tracker/keys.ts'
import type { TrackerKeys } from '../../../tracker/keys.ts'
import { issueOriginAccess, renderNginxConfig, signOriginLink } from '../../../tracker/origin/index.ts'
import { NGINX_BIN, startNginxOrigin } from '../../helpers/nginx.ts'
import type { NginxOrigin } from '../../helpers/nginx.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { run as runOriginContract } from '../origin.contract.ts'

const nowSec = (): number => Math.floor(Date.now() / 1000)

interface Ctx {
  dataDir: string
  keys?: TrackerKeys
  store?: ChunkStore
  nginx?: NginxOrigin
}

/** An nginx origin over a fresh data dir, the way an admin sets one up. */
async function setUp (ctx: Ctx): Promise<void> {
  ctx.dataDir = await makeTmpDir('branchcast-origin-nginx-')
  ctx.keys = await loadTrackerKeys(ctx.dataDir)
  ctx.store = await createChunkStore({ dir: join(ctx.dataDir, 'store') })
  ctx.nginx = await startNginxOrigin({ dataDir: ctx.dataDir, secret: ctx.keys.originLinkSecret })
}

async function tearDown (ctx: Ctx): Promise<void> {
  try { await ctx.nginx?.stop() } finally { await rm(ctx.dataDir, { recursive: true, force: true }) }
}

/** GET with the path sent byte for byte (fetch and URL would normalise `..` away). */
function rawGet (port: number, path: string, method = 'GET'): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

const test = suite<Ctx>('origin: nginx secure_link', { dataDir: '' })
test.before(setUp)
test.after(tearDown)

test('a chunk published into the store is fetched through nginx with a tracker-signed URL and verifies', async (ctx) => {
  const chunk = new TextEncoder().encode('zstd-friendly '.repeat(5000))
  const { id } = await ctx.store!.put(chunk)
  const config = loadTrackerConfig({ flags: { dataDir: ctx.dataDir, originUrl: ctx.nginx!.url }, env: {} })
  const access = issueOriginAccess({ config, keys: ctx.keys!, now: Date.now }, { clientId: 'node-a', image: 'win10' })
  assert.is(access.kind, 'nginx')
  assert.ok(access.query !== undefined)
  assert.is(access.query!.e, String(access.expiresAtMs / 1000))

  // by hand: the stored file as nginx sends it, decoded by the shared codec
  const res = await fetch(originChunkUrl(access, id))
  assert.is(res.status, 200)
  assert.is(res.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  const stored = new Uint8Array(await res.arrayBuffer())
  assert.ok(stored.byteLength < chunk.byteLength, 'served as the stored zstd frame')
  assert.is(chunkId(decodeStoredChunk(id, stored)), id)
  // and through the node's client
  assert.is(chunkId(await fetchChunkFromOrigin(access, id)), id)
})

test('bad, missing or rebound signatures → 403; expired → 410', async (ctx) => {
  const { id } = await ctx.store!.put(randomBytes(5000))
  const base = `${ctx.nginx!.url}/chunks/${id.slice(0, 2)}/${id}`
  const good = signOriginLink({ secret: ctx.keys!.originLinkSecret, clientId: 'node-a', image: 'win10', expiresAtSec: nowSec() + 300 })
  const status = async (q: Record<string, string> | undefined): Promise<number> => {
    const res = await fetch(q === undefined ? base : `${base}?${new URLSearchParams(q)}`)
    await res.body?.cancel()
    return res.status
  }
  assert.is(await status(good), 200)
  assert.is(await status(undefined), 403, 'no signature')
  assert.is(await status({ ...good, s: 'AAAAAAAAAAAAAAAAAAAAAA' }), 403, 'wrong signature')
  assert.is(await status({ ...good, s: '' }), 403, 'empty signature')
  assert.is(await status({ ...good, c: 'node-b' }), 403, 'signature for another client')
  assert.is(await status({ ...good, i: 'other-image' }), 403, 'signature for another image')
  assert.is(await status({ ...good, e: String(Number(good.e) + 3600) }), 403, 'expiry pushed out')
  const otherSecret = signOriginLink({ secret: randomBytes(32).toString('base64url'), clientId: 'node-a', image: 'win10', expiresAtSec: nowSec() + 300 })
  assert.is(await status(otherSecret), 403, 'signed with another secret')
  const expired = signOriginLink({ secret: ctx.keys!.originLinkSecret, clientId: 'node-a', image: 'win10', expiresAtSec: nowSec() - 1 })
  assert.is(await status(expired), 410, 'expired')
})

test('paths outside the chunk layout are refused, whatever the signature', async (ctx) => {
  const { id } = await ctx.store!.put(randomBytes(3000))
  const q = new URLSearchParams(signOriginLink({ secret: ctx.keys!.originLinkSecret, clientId: 'node-a', image: 'win10', expiresAtSec: nowSec() + 300 }))
  // things an attacker would like: a file next to the store, the store's temp area
  await writeFile(join(ctx.dataDir, 'outside.txt'), 'SECRET-OUTSIDE')
  await mkdir(join(ctx.dataDir, 'store', 'tmp'), { recursive: true })
  await writeFile(join(ctx.dataDir, 'store', 'tmp', 'x.tmp'), 'SECRET-TMP')
  const upper = id.toUpperCase()
  const paths = [
    '/../outside.txt',
    '/chunks/../../outside.txt',
    '/chunks/%2e%2e/%2e%2e/outside.txt',
    '/chunks/..%2f..%2foutside.txt',
    `/chunks/${id.slice(0, 2)}%2f${id}`,
    '/../keys/origin-link.secret',
    '/tmp/x.tmp',
    '/chunks/../tmp/x.tmp',
    `/chunks/${upper.slice(0, 2)}/${upper}`,
    `/chunks/${id.slice(0, 2)}/${id.slice(0, 63)}`,
    `/chunks/${id.slice(0, 2) === 'ff' ? '00' : 'ff'}/${id}`,
    `/chunks/${id.slice(0, 2)}/${id}/`,
    '/chunks/',
    '/'
  ]
  for (const p of paths) {
    const { status, body } = await rawGet(ctx.nginx!.port, `${p}?${q}`)
    assert.ok(status === 400 || status === 403 || status === 404, `${p} → ${status}`)
    assert.not.match(body, /SECRET|BEGIN PRIVATE KEY/, `${p} leaked a file`)
  }
  // the well-formed path with the same query still works: the refusals were about the path
  assert.is((await rawGet(ctx.nginx!.port, `/chunks/${id.slice(0, 2)}/${id}?${q}`)).status, 200)
  assert.is((await rawGet(ctx.nginx!.port, `/chunks/${id.slice(0, 2)}/${id}?${q}`, 'POST')).status, 403, 'GET and HEAD only')
})

/** Runs a command to completion, collecting stdout and stderr. */
function runCommand (cmd: string, args: string[]): Promise<{ code: number | null, out: string, err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr.on('data', (b: Buffer) => { err += b.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

test('`branchcast origin nginx-config` prints a config nginx accepts, with this data dir\'s secret', async (ctx) => {
  const prefix = ctx.nginx!.prefix
  const cli = await runCommand(process.execPath, [new URL('../../../bin/branchcast.ts', import.meta.url).pathname, 'origin', 'nginx-config', '--data', ctx.dataDir, '--port', '8480', '--standalone', prefix, '--json'])
  assert.is(cli.code, 0, cli.err)
  const printed = JSON.parse(cli.out) as { config: string, root: string, port: number }
  assert.is(printed.root, join(ctx.dataDir, 'store'))
  assert.ok(printed.config.includes(`$arg_i ${ctx.keys!.originLinkSecret}";`), 'uses the tracker\'s origin link secret')
  assert.is(printed.config, renderNginxConfig({ dataDir: ctx.dataDir, port: 8480, secret: ctx.keys!.originLinkSecret, prefix }))
  const conf = join(prefix, 'check.conf')
  await writeFile(conf, printed.config)
  const check = await runCommand(NGINX_BIN, ['-t', '-p', prefix, '-e', join(prefix, 'check-error.log'), '-c', conf])
  assert.is(check.code, 0, check.err)
})

test.run()

runOriginContract('nginx', async () => {
  const ctx: Ctx = { dataDir: '' }
  await setUp(ctx)
  const link = (secret: string, expiresAtSec: number): Record<string, string> => ({ ...signOriginLink({ secret, clientId: 'node-c', image: 'img', expiresAtSec }) })
  return {
    publish: async (chunks) => await Promise.all(chunks.map(async (b) => (await ctx.store!.put(b)).id)),
    access: () => ({ originUrl: ctx.nginx!.url, query: link(ctx.keys!.originLinkSecret, nowSec() + 300) }),
    forgedAccess: () => ({ originUrl: ctx.nginx!.url, query: link(randomBytes(32).toString('base64url'), nowSec() + 300) }),
    expiredAccess: () => ({ originUrl: ctx.nginx!.url, query: link(ctx.keys!.originLinkSecret, nowSec() - 5) }),
    stop: async () => { await tearDown(ctx) }
  }
})
