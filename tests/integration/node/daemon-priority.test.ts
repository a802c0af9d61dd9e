// `branchcast node` runs below the VMs it starts: the daemon's threads at its start value
// + cpuNice, each QEMU back at the start value (a real daemon process, a real QEMU). Where
// this process may not raise a priority again, the daemon keeps its own.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { planPriority, readPriorityRights } from '../../../node/daemon/index.ts'
import { startNodeProcess } from '../../../bin/node-process.ts'
import { runCli } from '../../helpers/cli.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

/** The nice value of every thread of `pid`. */
async function threadNices (pid: number): Promise<number[]> {
  const tids = await readdir(`/proc/${pid}/task`)
  const nices = await Promise.all(tids.map(async (t) => await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').then((s) => Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]), () => undefined)))
  return nices.filter((n): n is number => n !== undefined)
}

test('the daemon runs at its start value + cpuNice, the VM it starts at the start value', async () => {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-priority-')
  const disk = join(dir, 'disk.raw')
  await writeFile(disk, Buffer.alloc(1024 * 1024))
  const node = await startNodeProcess({ dataDir: join(dir, 'node'), tracker: tt.url, token: tt.adminToken, site: 'priority', logFile: join(dir, 'node.log'), cpuNice: 7 })
  try {
    const rights = readPriorityRights() // the daemon is this process's child: the same rights and start value
    const plan = planPriority(7, rights)
    const daemonNice = plan.lower ? plan.daemonNice : rights.baseNice
    assert.equal([...new Set(await threadNices(node.child.pid!))], [daemonNice], 'every thread of the daemon')
    if (!plan.lower) assert.match(await readFile(join(dir, 'node.log'), 'utf8'), /keeps its normal CPU priority/)

    const cli = async (...args: string[]) => await runCli([...args, '--data', join(dir, 'node')], { timeoutMs: 60_000 })
    const started = await cli('start', 'ws', '--disk', disk, '--memory', '64', '--network', 'none', '--json')
    assert.is(started.code, 0, started.stderr)
    const { pid } = JSON.parse(started.stdout) as { pid: number }
    assert.equal([...new Set(await threadNices(pid))], [rights.baseNice], 'every thread of QEMU, at the normal priority')
    assert.is((await cli('stop', 'ws', '--timeout', '200ms')).code, 0)
  } finally {
    await node.stop()
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
