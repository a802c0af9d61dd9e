import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DATA_DIR_LOCK_FILE, lockDataDir, processStartTicks } from '../../../../node/daemon/data-dir-lock.ts'
import { makeTmpDir } from '../../../helpers/tmp-dir.ts'
import { rejects } from '../../../helpers/rejects.ts'

/** The pid of a process that has exited (so is not alive, barring reuse in these few ms). */
function deadPid (): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

/** What a lock file left behind looks like, and whether a new daemon takes it over. */
const CASES: Array<{ name: string, content: () => string, takesOver: boolean }> = [
  { name: 'a live other holder (this process, another nonce): refused', content: () => JSON.stringify({ pid: process.pid, startTicks: processStartTicks(process.pid), nonce: 'x', since: 'then' }), takesOver: false },
  { name: 'a dead holder (killed with SIGKILL, say): taken over', content: () => JSON.stringify({ pid: deadPid(), nonce: 'x', since: 'then' }), takesOver: true },
  { name: 'a reused pid (alive, started at another time): taken over', content: () => JSON.stringify({ pid: process.pid, startTicks: (processStartTicks(process.pid) ?? 0) + 1, nonce: 'x', since: 'then' }), takesOver: true },
  { name: 'a torn file (died mid-write): taken over', content: () => '{"pid":', takesOver: true }
]

for (const c of CASES) {
  test(`data directory lock: ${c.name}`, async () => {
    const dir = await makeTmpDir('branchcast-lock-')
    try {
      const path = join(dir, DATA_DIR_LOCK_FILE)
      await writeFile(path, c.content())
      if (!c.takesOver) {
        const err = await rejects(lockDataDir(dir), { code: 'ERR_NODE_CONFIG' })
        assert.match(err.message, new RegExp(`in use by another branchcast node \\(pid ${process.pid}`))
        assert.is(await readFile(path, 'utf8'), c.content(), 'the holder\'s lock is untouched')
        return
      }
      const lock = await lockDataDir(dir)
      assert.is(JSON.parse(await readFile(path, 'utf8')).pid, process.pid)
      await lock.release()
      await rejects(stat(path), { code: 'ENOENT' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
}

test('data directory lock: one holder at a time, release frees it, and release never removes another\'s lock', async () => {
  const dir = await makeTmpDir('branchcast-lock-')
  try {
    const first = await lockDataDir(dir)
    await rejects(lockDataDir(dir), { code: 'ERR_NODE_CONFIG' })
    await first.release()
    const second = await lockDataDir(dir)
    await first.release() // late, idempotent: must not remove the second's
    assert.is(JSON.parse(await readFile(join(dir, DATA_DIR_LOCK_FILE), 'utf8')).nonce, second.owner.nonce)
    await second.release()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('data directory lock: starters racing over one stale lock end with exactly one holder', async () => {
  const dir = await makeTmpDir('branchcast-lock-')
  try {
    await writeFile(join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid: deadPid(), nonce: 'stale', since: 'then' }))
    const results = await Promise.allSettled(Array.from({ length: 6 }, async () => await lockDataDir(dir)))
    const won = results.filter((r) => r.status === 'fulfilled')
    assert.is(won.length, 1, results.map((r) => r.status === 'rejected' ? (r.reason as Error).message : 'ok').join(' | '))
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDataDir>>>).value.release()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
