/**
 * Runs one target's campaign in a worker thread under guards no code inside the thread
 * could enforce: a heap limit (an allocation that outgrows it kills the thread, not us) and
 * a watchdog that ends the thread when one input runs longer than `hangMs`. Findings are
 * printed with their input in hex and saved to tests/fuzz/findings/<target>/ (gitignored);
 * a finding's input, once the bug is fixed, goes into tests/fuzz/corpus/<target>/ so it
 * is replayed on every run.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import type { CampaignOptions, CampaignStats, Finding } from './campaign.ts'
import { SharedInput } from './shared-input.ts'
import type { WorkerData, WorkerMessage } from './worker.ts'

export const CORPUS_DIR = new URL('./corpus/', import.meta.url)
export const FINDINGS_DIR = new URL('./findings/', import.meta.url)
const DEFAULT_TARGETS = new URL('./targets/index.ts', import.meta.url)

/** One input longer than this (wall time, so generous for a loaded machine) is a hang. */
export const DEFAULT_HANG_MS = 5000
/** One input costing more CPU than this is slow; our decoders take microseconds to a few ms. */
export const DEFAULT_CPU_BUDGET_MS = 50
/** Inputs are at most 64 KiB; no decoder needs more than its 4 MiB output cap plus copies. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 64 * 2 ** 20
/** The worker's heap: far above what any input should need, well below the machine. */
export const WORKER_HEAP_MB = 512
const MAX_CORPUS = 1024
const WATCHDOG_EVERY_MS = 100

export interface FuzzOptions {
  /** the module whose `TARGETS` holds the target (default ./targets/index.ts) */
  targets?: URL
  seed?: number
  iterations?: number
  seconds?: number
  hangMs?: number
  cpuBudgetMs?: number
  memoryBudgetBytes?: number
  /** write findings to FINDINGS_DIR (default true) */
  save?: boolean
  log?: (line: string) => void
}

export interface FuzzReport {
  stats: CampaignStats
  findings: Finding[]
}

/** The stored inputs of a target (tests/fuzz/corpus/<target>/*.bin), in name order. */
export function storedCorpus (target: string): Uint8Array[] {
  const dir = new URL(`${target}/`, CORPUS_DIR)
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.bin')).sort()
  } catch {
    return []
  }
  return names.map((n) => new Uint8Array(readFileSync(new URL(n, dir))))
}

export async function fuzz (target: string, options: FuzzOptions = {}): Promise<FuzzReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const campaign: CampaignOptions = {
    seed: options.seed ?? 1,
    iterations: options.iterations,
    seconds: options.seconds,
    cpuBudgetMs: options.cpuBudgetMs ?? DEFAULT_CPU_BUDGET_MS,
    memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
    maxCorpus: MAX_CORPUS,
    stored: storedCorpus(target)
  }
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS
  const shared = new SharedInput()
  const findings: Finding[] = []
  const found = (f: Finding): void => {
    findings.push(f)
    log(describe(target, f))
    if (options.save !== false) save(target, f)
  }

  const data: WorkerData = { targets: (options.targets ?? DEFAULT_TARGETS).href, target, options: campaign, shared: shared.buffer }
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } })
  const started = performance.now()
  let stats: CampaignStats | undefined
  let lastCount = -1
  let lastChange = performance.now()
  const watchdog = setInterval(() => {
    const count = shared.count
    const now = performance.now()
    if (count !== lastCount) { lastCount = count; lastChange = now; return }
    if (count > 0 && now - lastChange > hangMs) {
      clearInterval(watchdog)
      found({ kind: 'hang', input: shared.current(), detail: `one input ran for more than ${hangMs} ms`, signature: 'hang' })
      void worker.terminate()
    }
  }, WATCHDOG_EVERY_MS)

  try {
    await new Promise<void>((resolve) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'finding') found(m.finding)
        else if (m.type === 'progress') log(summary(m.stats))
        else stats = m.stats
      })
      worker.on('error', (err: Error & { code?: string }) => {
        const kind = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash'
        found({ kind, input: shared.current(), detail: String(err.stack ?? err), signature: `${kind}: ${err.code ?? err.name}` })
      })
      worker.on('exit', () => resolve())
    })
  } finally {
    clearInterval(watchdog)
  }
  const seconds = (performance.now() - started) / 1000
  if (stats === undefined && !findings.some((f) => f.kind === 'hang' || f.kind === 'crash' || f.kind === 'memory')) {
    found({ kind: 'crash', input: shared.current(), detail: 'the worker ended inside an input without an error (process.exit?)', signature: 'crash: quiet exit' })
  }
  // a worker that hung or died sends no stats: count what it got through
  stats ??= { target, seed: campaign.seed, inputs: shared.count, seconds, inputsPerSecond: Math.round(shared.count / seconds), inputsPerCpuSecond: 0, outcomes: 0, corpus: 0, findings: findings.length }
  return { stats, findings }
}

export function summary (s: CampaignStats): string {
  return `${s.target}: ${s.inputs.toLocaleString('en')} inputs in ${s.seconds.toFixed(1)} s (${s.inputsPerSecond.toLocaleString('en')}/s, ${s.inputsPerCpuSecond.toLocaleString('en')}/CPU-s), ` +
    `${s.outcomes} outcomes, corpus ${s.corpus}, ${s.slowestCpuMs === undefined ? '' : `slowest input ${s.slowestCpuMs.toFixed(2)} ms CPU, `}${s.findings} findings (seed ${s.seed})`
}

/** Hex of at most this many bytes in the log line; the saved file holds all of it. */
const LOGGED_HEX_BYTES = 512

function describe (target: string, f: Finding): string {
  const hex = Buffer.from(f.input.subarray(0, LOGGED_HEX_BYTES)).toString('hex') + (f.input.length > LOGGED_HEX_BYTES ? '…' : '')
  return `FINDING ${target} ${f.kind} (${f.input.length} bytes, sha256 ${sha256(f.input).slice(0, 16)}): ${f.signature}\n  input: ${hex}\n  ${f.detail.split('\n').slice(0, 8).join('\n  ')}`
}

function save (target: string, f: Finding): void {
  const dir = new URL(`${target}/`, FINDINGS_DIR)
  mkdirSync(dir, { recursive: true })
  const name = `${f.kind}-${sha256(f.input).slice(0, 16)}`
  writeFileSync(new URL(`${name}.bin`, dir), f.input)
  writeFileSync(new URL(`${name}.txt`, dir), `${f.signature}\n\n${f.detail}\n\ninput (${f.input.length} bytes): ${Buffer.from(f.input).toString('hex')}\n`)
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
