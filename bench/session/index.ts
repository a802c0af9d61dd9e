/**
 * VM session start bench: from `branchcast start` (the control API call to a running
 * `branchcast node` process, with wait-for-agent) to the guest agent answering, against
 * plain `qemu-system-x86_64` booting the same kernel, initramfs and disk and answered by
 * the same guest-agent client, in one run, rounds alternating. The guest is the tiny one
 * of tests/helpers/guest.ts; both run under TCG with 256 MiB and one vCPU.
 *
 * The node's first start also probes for KVM (up to 3 s where /dev/kvm hangs); it is
 * reported on its own line and left out of the comparison.
 *
 *   npm run bench -- session              (or: npx node bench/session/index.ts)
 *   SESSION_BENCH_ROUNDS=7 npm run bench -- session
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createControlClient, readControlFile } from '../../node/index.ts'
import type { ControlClient } from '../../node/index.ts'
import { GuestAgent, QmpClient, createSessionRuntime } from '../../node/session/index.ts'
import { createLogger } from '../../protocol/logger.ts'
import { startNodeProcess } from '../../bin/node-process.ts'
import { startTestTracker } from '../../tests/helpers/tracker.ts'
import { tinyGuest } from '../../tests/helpers/guest.ts'
import type { TinyGuest } from '../../tests/helpers/guest.ts'
import { spawn } from 'node:child_process'

const WORK = fileURLToPath(new URL('../.work/session/', import.meta.url))
const ROUNDS = Number(process.env.SESSION_BENCH_ROUNDS ?? 5)
const MEMORY_MB = 256
const BOOT_TIMEOUT_MS = 120_000

interface Runner {
  name: string
  /** ms from the start request to the guest agent's answer; leaves the VM stopped */
  run: () => Promise<number>
}

function plainQemu (guest: TinyGuest, disk: string): Runner {
  return {
    name: 'plain qemu-system-x86_64',
    async run () {
      const dir = join(WORK, 'plain')
      await rm(dir, { recursive: true, force: true })
      await mkdir(dir, { recursive: true })
      const agentPath = join(dir, 'agent.sock')
      const qmpPath = join(dir, 'qmp.sock')
      const t0 = performance.now()
      const qemu = spawn('qemu-system-x86_64', [
        '-machine', 'pc', '-accel', 'tcg', '-m', String(MEMORY_MB), '-smp', '1', '-nodefaults', '-display', 'none',
        '-qmp', `unix:${qmpPath},server=on,wait=off`,
        '-drive', `file=${disk},format=raw,if=virtio,snapshot=on`,
        '-chardev', `socket,id=qga0,path=${agentPath},server=on,wait=off`,
        '-device', 'virtio-serial-pci,id=vser0', '-device', 'virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0',
        '-serial', 'none', '-nic', 'none',
        '-kernel', guest.kernelPath, '-initrd', guest.initrdPath, '-append', guest.append
      ], { stdio: 'ignore' })
      try {
        const signal = AbortSignal.timeout(BOOT_TIMEOUT_MS)
        // the agent socket exists once QEMU is up: QMP tells us so (as a script would wait for it)
        const qmp = await QmpClient.connect(qmpPath, { signal })
        qmp.close()
        const agent = await GuestAgent.connect(agentPath, { signal })
        await agent.ping({ signal })
        const ms = performance.now() - t0
        agent.close()
        return ms
      } finally {
        qemu.kill('SIGKILL')
        await new Promise((resolve) => qemu.once('exit', resolve))
      }
    }
  }
}

function branchcast (client: ControlClient, guest: TinyGuest, disk: string): Runner {
  return {
    name: 'branchcast start --wait (control API)',
    async run () {
      const t0 = performance.now()
      await client.sessionStart('bench', {
        disk, mode: 'revertible', memoryMb: MEMORY_MB, cpus: 1, network: 'none',
        kernel: guest.kernelPath, initrd: guest.initrdPath, append: guest.append, wait: true, timeoutMs: BOOT_TIMEOUT_MS
      })
      const ms = performance.now() - t0
      await client.sessionStop('bench', { timeoutMs: 20_000 })
      return ms
    }
  }
}

/** The same runtime without the daemon and the HTTP call: tells the daemon's share from the runtime's. */
function inProcess (guest: TinyGuest, disk: string): Runner {
  const runtime = createSessionRuntime({ dataDir: join(WORK, 'in-process'), accel: 'tcg' }, { events: { report: async () => ({}) as never }, logger: createLogger({ level: 'silent' }), now: Date.now })
  return {
    name: 'session runtime in-process',
    async run () {
      const t0 = performance.now()
      await runtime.start('bench', {
        baseImagePath: disk, mode: 'revertible', memoryMb: MEMORY_MB, cpus: 1, network: 'none',
        boot: { kernelPath: guest.kernelPath, initrdPath: guest.initrdPath, append: guest.append }, waitForAgent: true, signal: AbortSignal.timeout(BOOT_TIMEOUT_MS)
      })
      const ms = performance.now() - t0
      await runtime.stop('bench', { timeoutMs: 20_000 })
      return ms
    }
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const guest = await tinyGuest()
await mkdir(WORK, { recursive: true })
const disk = join(WORK, 'disk.raw')
const bytes = Buffer.alloc(64 * 1024 * 1024)
bytes.write('BRANCHCAST-BENCH-DISK', 0)
await writeFile(disk, bytes)

const tracker = await startTestTracker()
const dataDir = join(WORK, 'node')
await rm(dataDir, { recursive: true, force: true })
const node = await startNodeProcess({ dataDir, tracker: tracker.url, token: tracker.adminToken, site: 'bench', logFile: join(WORK, 'node.log'), extraArgs: ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'] })
try {
  const client = createControlClient(await readControlFile(dataDir))
  const ours = branchcast(client, guest, disk)
  const first = await ours.run()
  const runners = [plainQemu(guest, disk), ours, inProcess(guest, disk)]
  const times = new Map<string, number[]>(runners.map((r) => [r.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of round % 2 === 0 ? runners : [...runners].reverse()) {
      const ms = await r.run()
      times.get(r.name)!.push(ms)
      process.stderr.write(`round ${round + 1}: ${r.name} ${ms.toFixed(0)} ms\n`)
    }
  }
  const plain = median(times.get(runners[0]!.name)!)
  const lines = [
    `| system | median ms (${ROUNDS} rounds) | each run, ms | × plain |`,
    '| --- | --- | --- | --- |',
    ...runners.map((r) => {
      const xs = times.get(r.name)!
      return `| ${r.name} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(median(xs) / plain).toFixed(2)} |`
    }),
    '',
    `Paired (same round) ratio to plain, median: ${runners.slice(1).map((r) => `${r.name} ${median(times.get(r.name)!.map((x, i) => x / times.get(runners[0]!.name)![i]!)).toFixed(2)}`).join('; ')}.`,
    `First \`branchcast start\` of the node, KVM probe included: ${first.toFixed(0)} ms.`,
    `Host: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end.`
  ]
  console.log(lines.join('\n'))
} finally {
  await node.stop()
  await tracker.stop()
}
