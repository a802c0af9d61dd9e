/**
 * Serving images to QEMU while they arrive (instant start): the NBD server, an image
 * version as a block source, and the lazy disks the daemon runs (one socket, one export per
 * version a VM reads while it is pulled, stalls turned into guest pauses).
 */
import type { LazyDisksComponents, LazyDisksInit } from './lazy-disks.ts'
import { LazyDisks } from './lazy-disks.ts'

export { startNbdServer } from './nbd-server.ts'
export type { BlockSource, NbdServer, NbdServerInit } from './nbd-server.ts'
export { ReadStalledError, imageBlockSource } from './image-source.ts'
export type { ImageSourceInit, LazyImage } from './image-source.ts'
export { LazyDisks, lazyExportName } from './lazy-disks.ts'
export type { BootRecordingHandle, LazyBase, LazyDisksComponents, LazyDisksInit } from './lazy-disks.ts'
export { trackerBootProfileSink } from './boot-profile-sink.ts'
export type { BootProfileApi, BootProfileSink } from './boot-profile-sink.ts'
export { createBootRecorder } from './boot-recorder.ts'
export type { BootRecorder, BootRecorderInit, BootRecording, BootRecordingEnd } from './boot-recorder.ts'
export { LAZY_STALL_MS } from './constants.ts'

export function createLazyDisks (init: LazyDisksInit, components: LazyDisksComponents): LazyDisks {
  if (init.dataDir === '') throw new TypeError('dataDir is required')
  if (init.stallMs !== undefined && (!Number.isInteger(init.stallMs) || init.stallMs < 1)) throw new TypeError('stallMs must be a positive integer')
  return new LazyDisks(init, components)
}
