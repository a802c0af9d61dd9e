import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeSeedIndex, SEED_INDEX_FILE } from '../../../node/seeds/index.ts'
import { DEFAULT_CHUNKING } from '../../../protocol/index.ts'
import { runCli } from '../../helpers/cli.ts'
import { withTmpDir } from '../../helpers/tmp-dir.ts'

const env = { ...process.env, BRANCHCAST_NODE_DATA: '', BRANCHCAST_TRACKER: '', BRANCHCAST_TOKEN: '' }

test('seeds add, list, status and remove keep the paths in config.json; bad paths are one-line errors that change nothing', async () => {
  await withTmpDir(async (dir) => {
    const data = join(dir, 'node')
    const seed = join(dir, 'seed')
    await mkdir(seed)
    const run = async (...args: string[]) => await runCli(['seeds', ...args, '--data', data], { env })
    const add = await run('add', seed, '--json')
    assert.is(add.code, 0, add.stderr)
    assert.equal(JSON.parse(add.stdout), { seeds: [seed] })
    assert.equal(JSON.parse(await readFile(join(data, 'config.json'), 'utf8')).seeds, [seed])

    const missing = await run('add', join(dir, 'nope'))
    assert.is(missing.code, 1)
    assert.match(missing.stderr, /not a directory or file/)
    assert.is(missing.stderr.trim().split('\n').length, 1)
    assert.equal(JSON.parse((await run('list', '--json')).stdout), { seeds: [seed] })

    await writeFile(join(data, SEED_INDEX_FILE), encodeSeedIndex([{ params: { ...DEFAULT_CHUNKING }, files: [{ path: join(seed, 'a'), size: 100_000, mtimeMs: 1, ino: 1, ids: ['ab'.repeat(32)], offsets: [0], lengths: [100_000] }] }]))
    const status = await run('status', '--json')
    assert.is(status.code, 0, status.stderr)
    assert.equal(JSON.parse(status.stdout).sets.map((s: { files: number, chunks: number, bytes: number }) => [s.files, s.chunks, s.bytes]), [[1, 1, 100_000]])

    const notSeed = await run('remove', dir)
    assert.is(notSeed.code, 1)
    assert.match(notSeed.stderr, /is not a seed path/)
    const removed = await run('remove', seed, '--json')
    assert.equal(JSON.parse(removed.stdout), { seeds: [] })
    assert.is((await run('frobnicate')).code, 1)
  })
})

test.run()
