/**
 * The QEMU command line of a session, from a plain plan: no files, no processes. What is
 * not in the plan is not in the VM: `-nodefaults` drops QEMU's default devices, and a guest
 * channel the caller did not allow has neither a chardev nor a port.
 */

/** Host↔guest channels a policy can allow; each is a virtio-serial port backed by a Unix socket of the node's. */
export interface SessionChannels {
  clipboard: boolean
  fileTransfer: boolean
  printing: boolean
}

export type ChannelName = keyof SessionChannels

/** Each channel's chardev id and the port name the guest sees (`/dev/virtio-ports/<name>`). */
export const CHANNEL_PORTS: Readonly<Record<ChannelName, { id: string, port: string }>> = {
  clipboard: { id: 'ch-clipboard', port: 'org.branchcast.clipboard.0' },
  fileTransfer: { id: 'ch-files', port: 'org.branchcast.files.0' },
  printing: { id: 'ch-print', port: 'org.branchcast.print.0' }
}

export const AGENT_CHARDEV_ID = 'qga0'
export const AGENT_PORT_NAME = 'org.qemu.guest_agent.0'

export interface VmPlan {
  image: string
  /** `none`: no board, no devices (fast tests of the control path); `pc`: a real PC */
  machine: 'pc' | 'none'
  accel: 'kvm' | 'tcg'
  memoryMb: number
  cpus: number
  /** the qcow2 overlay the guest writes to; its backing file is the read-only base */
  overlayPath: string
  qmpSocket: string
  agentSocket: string
  /** sockets of the allowed channels only */
  channelSockets: Partial<Record<ChannelName, string>>
  /** the guest's serial console goes to this file (none when undefined) */
  serialLogPath?: string
  /** direct kernel boot instead of the disk's boot loader */
  boot?: { kernelPath: string, initrdPath?: string, append?: string }
  network: 'none' | 'nat'
}

/** QEMU option values separate keys with commas: a comma in a path is written twice. */
function v (value: string): string { return value.replaceAll(',', ',,') }

export function qemuArgs (plan: VmPlan): string[] {
  const devices = plan.machine !== 'none'
  const args = [
    '-name', `guest=${v(plan.image)}`,
    '-machine', plan.machine,
    '-accel', plan.accel,
    '-m', String(plan.memoryMb),
    '-smp', String(plan.cpus),
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-qmp', `unix:${v(plan.qmpSocket)},server=on,wait=off`,
    '-blockdev', `driver=qcow2,node-name=disk0,file.driver=file,file.filename=${v(plan.overlayPath)}`,
    '-chardev', `socket,id=${AGENT_CHARDEV_ID},path=${v(plan.agentSocket)},server=on,wait=off`
  ]
  const channels = (Object.keys(CHANNEL_PORTS) as ChannelName[]).filter((c) => plan.channelSockets[c] !== undefined)
  for (const c of channels) args.push('-chardev', `socket,id=${CHANNEL_PORTS[c].id},path=${v(plan.channelSockets[c]!)},server=on,wait=off`)
  if (devices) {
    args.push(
      '-device', 'virtio-blk-pci,drive=disk0',
      '-device', 'virtio-serial-pci,id=vser0',
      '-device', `virtserialport,bus=vser0.0,chardev=${AGENT_CHARDEV_ID},name=${AGENT_PORT_NAME}`
    )
    for (const c of channels) args.push('-device', `virtserialport,bus=vser0.0,chardev=${CHANNEL_PORTS[c].id},name=${CHANNEL_PORTS[c].port}`)
    // a guest panic ends QEMU with GUEST_PANICKED and exit status 1 instead of looking like a reboot
    args.push('-device', 'pvpanic', '-action', 'panic=exit-failure')
    args.push(...(plan.network === 'nat' ? ['-nic', 'user,model=virtio-net-pci'] : ['-nic', 'none']))
    args.push('-serial', plan.serialLogPath === undefined ? 'none' : `file:${v(plan.serialLogPath)}`)
  }
  if (plan.boot !== undefined) {
    args.push('-kernel', plan.boot.kernelPath)
    if (plan.boot.initrdPath !== undefined) args.push('-initrd', plan.boot.initrdPath)
    if (plan.boot.append !== undefined) args.push('-append', plan.boot.append)
  }
  return args
}
