/**
 * The worker thread of a fuzz run (started by fuzz.ts): runs one campaign and tells the
 * parent about it, publishing each input before it runs so that the parent can name the
 * input that hung or killed the thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runCampaign } from './campaign.ts'
import type { CampaignOptions, CampaignStats, Finding } from './campaign.ts'
import { SharedInput } from './shared-input.ts'
import { targetNamed } from './target.ts'
import type { FuzzTarget } from './target.ts'

export interface WorkerData {
  /** a module exporting `TARGETS: FuzzTarget[]`, and the name of one of them */
  targets: string
  target: string
  options: CampaignOptions
  shared: SharedArrayBuffer
}

export type WorkerMessage =
  | { type: 'finding', finding: Finding }
  | { type: 'progress', stats: CampaignStats }
  | { type: 'done', stats: CampaignStats }

const data = workerData as WorkerData
const shared = new SharedInput(data.shared)
const post = (m: WorkerMessage): void => parentPort!.postMessage(m)

// An input whose promise never settles would otherwise leave nothing to run and end the
// thread quietly; kept alive, it is a hang the parent's watchdog sees.
const keepAlive = setInterval(() => {}, 2 ** 30)
const { TARGETS } = await import(data.targets) as { TARGETS: FuzzTarget[] }
const stats = await runCampaign(targetNamed(TARGETS, data.target), data.options, {
  beforeInput: (input) => shared.publish(input),
  onFinding: (finding) => post({ type: 'finding', finding }),
  onProgress: (s) => post({ type: 'progress', stats: s })
})
post({ type: 'done', stats })
clearInterval(keepAlive)
