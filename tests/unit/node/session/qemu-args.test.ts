import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CHANNEL_PORTS, qemuArgs } from '../../../../node/session/index.ts'
import type { ChannelName, VmPlan } from '../../../../node/session/index.ts'

const PLAN: VmPlan = {
  image: 'ws', machine: 'pc', accel: 'tcg', memoryMb: 512, cpus: 2, overlayPath: '/d/overlay.qcow2',
  qmpSocket: '/d/qmp.sock', agentSocket: '/d/agent.sock', channelSockets: {}, network: 'none'
}

function after (args: string[], flag: string): string[] {
  return args.flatMap((a, i) => a === flag ? [args[i + 1]!] : [])
}

test('memory, vCPUs and accelerator come from the plan; QEMU adds nothing of its own', () => {
  const args = qemuArgs(PLAN)
  assert.equal([after(args, '-m'), after(args, '-smp'), after(args, '-accel')], [['512'], ['2'], ['tcg']])
  assert.ok(args.includes('-nodefaults') && args.includes('-no-user-config'))
  assert.equal(after(args, '-display'), ['none'])
  assert.equal(after(args, '-nic'), ['none'])
})

test('each channel is present exactly when allowed: a chardev and a virtio-serial port', () => {
  const all = Object.keys(CHANNEL_PORTS) as ChannelName[]
  for (let mask = 0; mask < 1 << all.length; mask++) {
    const on = all.filter((_, i) => (mask & (1 << i)) !== 0)
    const args = qemuArgs({ ...PLAN, channelSockets: Object.fromEntries(on.map((c) => [c, `/d/${c}.sock`])) }).join(' ')
    for (const c of all) {
      const { id, port } = CHANNEL_PORTS[c]
      assert.is(args.includes(`id=${id},`), on.includes(c), `${c} chardev, mask ${mask}`)
      assert.is(args.includes(`name=${port}`), on.includes(c), `${c} port, mask ${mask}`)
    }
    assert.match(args, /name=org\.qemu\.guest_agent\.0/, 'the guest agent is always there')
  }
})

test('a real PC gets the disk, pvpanic that exits on a guest panic, and a serial log; -machine none gets no devices', () => {
  const pc = qemuArgs({ ...PLAN, serialLogPath: '/d/serial.log', network: 'nat' })
  assert.ok(after(pc, '-device').includes('virtio-blk-pci,drive=disk0'))
  assert.ok(after(pc, '-device').includes('pvpanic'))
  assert.equal(after(pc, '-action'), ['panic=exit-failure'])
  assert.equal(after(pc, '-serial'), ['file:/d/serial.log'])
  assert.equal(after(pc, '-nic'), ['user,model=virtio-net-pci'])
  const none = qemuArgs({ ...PLAN, machine: 'none', channelSockets: { clipboard: '/d/c.sock' } })
  assert.equal(after(none, '-device'), [])
  assert.ok(after(none, '-chardev').some((c) => c.includes('id=ch-clipboard')), 'chardevs exist without devices')
})

test('commas in paths are doubled, so a path cannot add options', () => {
  const args = qemuArgs({ ...PLAN, overlayPath: '/d/a,b.qcow2', qmpSocket: '/d/q,server=off.sock' })
  assert.ok(after(args, '-blockdev')[0]!.endsWith('file.filename=/d/a,,b.qcow2'))
  assert.equal(after(args, '-qmp'), ['unix:/d/q,,server=off.sock,server=on,wait=off'])
})

test('direct kernel boot only when asked', () => {
  assert.not.ok(qemuArgs(PLAN).includes('-kernel'))
  const args = qemuArgs({ ...PLAN, boot: { kernelPath: '/k', initrdPath: '/i', append: 'console=ttyS0' } })
  assert.equal([after(args, '-kernel'), after(args, '-initrd'), after(args, '-append')], [['/k'], ['/i'], ['console=ttyS0']])
})

test('a lazy base: the overlay over an NBD blockdev that reconnects, and a disk that pauses the guest on errors', () => {
  const args = qemuArgs({ ...PLAN, lazy: { socketPath: '/d/nbd,1.sock', exportName: 'ws@3', sizeBytes: 4096, reconnectDelayS: 5 } })
  assert.equal(after(args, '-blockdev'), [
    'driver=nbd,node-name=base0,server.type=unix,server.path=/d/nbd,,1.sock,export=ws@3,read-only=on,reconnect-delay=5',
    'driver=qcow2,node-name=disk0,file.driver=file,file.filename=/d/overlay.qcow2,backing=base0'
  ])
  assert.ok(after(args, '-device').includes('virtio-blk-pci,drive=disk0,rerror=stop,werror=stop'))
  const local = qemuArgs(PLAN)
  assert.equal(after(local, '-blockdev'), ['driver=qcow2,node-name=disk0,file.driver=file,file.filename=/d/overlay.qcow2'], 'a local base: the file the overlay names')
  assert.ok(after(local, '-device').includes('virtio-blk-pci,drive=disk0'))
})

test.run()
