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

/**
 * A base still arriving, read through the node's NBD export (instant start). QEMU's NBD
 * client reconnects to the socket for `reconnectDelayS` when it closes (the daemon
 * restarts); reads failing after that pause the guest (`rerror=stop`) instead of failing
 * in it.
 */
export interface LazyBacking {
  socketPath: string
  exportName: string
  /** the image's length: the overlay is made without opening its backing */
  sizeBytes: number
  reconnectDelayS: number
}

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
  /** read the base through this NBD export instead of the file the overlay names */
  lazy?: LazyBacking
}

/** QEMU option values separate keys with commas: a comma in a path is written twice. */
function v (value: string): string { return value.replaceAll(',', ',,') }

/**
 * The overlay, over the file its header names, or over the NBD export (a -blockdev chain:
 * the header keeps naming the local file, so once the image is whole the next start
 * needs no NBD and no rebase).
 */
function diskArgs (plan: VmPlan): string[] {
  const overlay = `driver=qcow2,node-name=disk0,file.driver=file,file.filename=${v(plan.overlayPath)}`
  if (plan.lazy === undefined) return ['-blockdev', overlay]
  const l = plan.lazy
  return [
    '-blockdev', `driver=nbd,node-name=base0,server.type=unix,server.path=${v(l.socketPath)},export=${v(l.exportName)},read-only=on,reconnect-delay=${l.reconnectDelayS}`,
    '-blockdev', `${overlay},backing=base0`
  ]
}

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
    ...diskArgs(plan),
    '-chardev', `socket,id=${AGENT_CHARDEV_ID},path=${v(plan.agentSocket)},server=on,wait=off`
  ]
  const channels = (Object.keys(CHANNEL_PORTS) as ChannelName[]).filter((c) => plan.channelSockets[c] !== undefined)
  for (const c of channels) args.push('-chardev', `socket,id=${CHANNEL_PORTS[c].id},path=${v(plan.channelSockets[c]!)},server=on,wait=off`)
  if (devices) {
    args.push(
      // a lazy base's reads may fail for a while (no chunk arrives, the node restarts): the guest then pauses until resumed
      '-device', plan.lazy === undefined ? 'virtio-blk-pci,drive=disk0' : 'virtio-blk-pci,drive=disk0,rerror=stop,werror=stop',
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
