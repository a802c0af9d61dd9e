/**
 * One fuzz campaign: run the target's seeds and stored corpus as they are, then mutated
 * inputs until a count or a deadline, and judge each. Runs inside the worker thread that
 * `fuzz.ts` starts (which watches it for hangs and crashes, that no code inside the
 * thread can catch). Findings:
 *
 * - `error`: the decoder threw something other than our coded errors (target.ts);
 * - `oracle`: it accepted an input but broke a promise of its format;
 * - `slow`: one input took more than `cpuBudgetMs` of this thread's CPU, on every one of
 *   three runs (CPU, not wall time: a loaded machine does not make an input slow);
 * - `memory`: the process's peak resident memory grew by more than `memoryBudgetBytes`
 *   while one input ran (allocations out of proportion to inputs of at most 64 KiB).
 *
 * Feedback, without coverage instrumentation: an input that reaches an outcome not seen
 * before (a new error code and message shape, or a new kind of success) joins the corpus,
 * so mutation goes on from inputs that got past a check.
 */
import { writeFileSync } from 'node:fs'
import { Random } from './random.ts'
import { mutate } from './mutate.ts'
import { OracleViolation } from './target.ts'
import type { FuzzTarget } from './target.ts'
import { messageShape } from './target.ts'

export type FindingKind = 'error' | 'oracle' | 'slow' | 'memory' | 'hang' | 'crash'

export interface Finding {
  kind: FindingKind
  input: Uint8Array
  /** what happened, for people: the error and its stack, or the measurement */
  detail: string
  /** findings with the same signature are one bug */
  signature: string
}

export interface CampaignOptions {
  seed: number
  /** mutated inputs to run (after the seeds); with `seconds`, whichever comes first */
  iterations?: number
  seconds?: number
  cpuBudgetMs: number
  memoryBudgetBytes: number
  /** inputs kept for mutation at most (seeds count) */
  maxCorpus: number
  /** stored inputs (regressions), run as they are before any mutation */
  stored: Uint8Array[]
}

export interface CampaignStats {
  target: string
  seed: number
  inputs: number
  seconds: number
  inputsPerSecond: number
  /** inputs per second of this thread's CPU time: the rate a machine shared with other work does not skew */
  inputsPerCpuSecond: number
  /** distinct outcomes reached */
  outcomes: number
  corpus: number
  /** CPU time of the slowest input, measured once the campaign is over (absent before) */
  slowestCpuMs?: number
  findings: number
}

export interface CampaignHooks {
  /** called before each input runs, so a watchdog outside the thread can name the input that hung */
  beforeInput: (input: Uint8Array) => void
  onFinding: (finding: Finding) => void
  onProgress?: (stats: CampaignStats) => void
}

/**
 * Every this many inputs, read the clock (per input it would cost as much as some
 * decoders) and let the event loop turn, as it does between a server's requests. Without
 * that turn, work Node defers to it never runs: a failed zlib/zstd `*Sync` call destroys
 * its stream on the next tick, and a million such calls in one turn held ~17 KB each
 * until the worker's heap ran out.
 */
const CLOCK_EVERY_INPUTS = 64
const turnOfTheEventLoop = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
const PROGRESS_EVERY_MS = 10_000
const DEFAULT_MAX_INPUT_BYTES = 64 * 1024
/** Runs of an input over its budget by the clock; the fastest, in CPU time, decides. */
const SLOW_RUNS = 3
/** Wall time on a shared machine also counts waiting: several candidates for the slowest input. */
const SLOWEST_KEPT = 8

/**
 * Sets the process's peak resident memory back to its current size (Linux; elsewhere a
 * no-op), so that a peak an earlier test or input reached does not hide the next one.
 */
function resetPeakRss (): number {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
  } catch {}
  return process.resourceUsage().maxRSS
}

interface Measured { label?: string, error?: unknown, ms: number, rssGrowthBytes: number }

export async function runCampaign (target: FuzzTarget, options: CampaignOptions, hooks: CampaignHooks): Promise<CampaignStats> {
  return await new Campaign(target, options, hooks).run()
}

class Campaign {
  readonly #target: FuzzTarget
  readonly #options: CampaignOptions
  readonly #hooks: CampaignHooks
  readonly #rng: Random
  readonly #corpus: Uint8Array[]
  /** seeds and stored inputs: never replaced in the corpus */
  readonly #pinned: number
  readonly #outcomes = new Set<string>()
  readonly #signatures = new Set<string>()
  /** the inputs slowest by the clock, fastest first; measured in CPU time at the end */
  readonly #slowest: Array<{ ms: number, input: Uint8Array }> = []
  readonly #started = performance.now()
  readonly #startedCpu = process.threadCpuUsage()
  #inputs = 0
  #findings = 0
  #slowestCpuMs: number | undefined
  /** the process's peak RSS after the last input: the peak before the next one (one call per input) */
  #peakRssKiB = resetPeakRss()

  constructor (target: FuzzTarget, options: CampaignOptions, hooks: CampaignHooks) {
    this.#target = target
    this.#options = options
    this.#hooks = hooks
    this.#rng = new Random(options.seed)
    this.#corpus = [...target.seeds(), ...options.stored]
    this.#pinned = this.#corpus.length
  }

  async run (): Promise<CampaignStats> {
    const { seconds, iterations = Infinity } = this.#options
    const deadline = seconds === undefined ? Infinity : this.#started + seconds * 1000
    const cx = { rng: this.#rng, corpus: this.#corpus, dictionary: this.#target.dictionary?.() ?? [], maxBytes: this.#target.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES }
    let lastProgress = this.#started
    for (const input of this.#corpus.slice()) await this.#judge(input)
    for (let mutated = 1; mutated <= iterations; mutated++) {
      await this.#judge(mutate(this.#rng.pick(this.#corpus), cx))
      if (mutated % CLOCK_EVERY_INPUTS !== 0) continue
      await turnOfTheEventLoop()
      const now = performance.now()
      if (now >= deadline) break
      if (this.#hooks.onProgress !== undefined && now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now
        this.#hooks.onProgress(this.stats())
      }
    }
    this.#slowestCpuMs = 0
    for (const { input } of this.#slowest) this.#slowestCpuMs = Math.max(this.#slowestCpuMs, await this.#cpuMs(input))
    return this.stats()
  }

  stats (): CampaignStats {
    const seconds = (performance.now() - this.#started) / 1000
    const cpu = process.threadCpuUsage(this.#startedCpu)
    const cpuSeconds = (cpu.user + cpu.system) / 1e6
    return {
      target: this.#target.name,
      seed: this.#options.seed,
      inputs: this.#inputs,
      seconds,
      inputsPerSecond: Math.round(this.#inputs / Math.max(seconds, 1e-3)),
      inputsPerCpuSecond: Math.round(this.#inputs / Math.max(cpuSeconds, 1e-3)),
      outcomes: this.#outcomes.size,
      corpus: this.#corpus.length,
      slowestCpuMs: this.#slowestCpuMs,
      findings: this.#findings
    }
  }

  async #judge (input: Uint8Array): Promise<void> {
    const { cpuBudgetMs, memoryBudgetBytes } = this.#options
    const m = await this.#measure(input)
    this.#inputs++
    if (m.error !== undefined) {
      const err = m.error as Error
      this.#report(err instanceof OracleViolation ? 'oracle' : 'error', input, String(err?.stack ?? err), `${err?.name}: ${messageShape(String(err?.message))}`)
    }
    // Wall time is the cheap filter (a thread's CPU time never exceeds it); CPU time decides.
    if (m.ms > cpuBudgetMs) {
      const cpuMs = await this.#cpuMs(input)
      if (cpuMs > cpuBudgetMs) this.#report('slow', input, `${cpuMs.toFixed(1)} ms of CPU at best of ${SLOW_RUNS} runs (budget ${cpuBudgetMs} ms), outcome ${m.label ?? 'error'}`, `over ${cpuBudgetMs} ms: ${m.label ?? 'error'}`)
    }
    if (m.rssGrowthBytes > memoryBudgetBytes) {
      this.#report('memory', input, `peak resident memory grew by ${(m.rssGrowthBytes / 2 ** 20).toFixed(0)} MiB on one input of ${input.length} bytes (budget ${memoryBudgetBytes / 2 ** 20} MiB)`, `over budget: ${m.label ?? 'error'}`)
      this.#peakRssKiB = resetPeakRss()
    }
    this.#keepIfSlowest(input, m.ms)
    if (m.label !== undefined && !this.#outcomes.has(m.label)) {
      this.#outcomes.add(m.label)
      this.#keep(input)
    }
  }

  async #measure (input: Uint8Array): Promise<Measured> {
    this.#hooks.beforeInput(input)
    const t0 = performance.now()
    const m: Measured = { ms: 0, rssGrowthBytes: 0 }
    try {
      const r = this.#target.run(input)
      m.label = typeof r === 'string' ? r : await r
    } catch (err) {
      m.error = err
    }
    m.ms = performance.now() - t0
    const peak = process.resourceUsage().maxRSS
    m.rssGrowthBytes = (peak - this.#peakRssKiB) * 1024
    this.#peakRssKiB = peak
    return m
  }

  /** The fastest of SLOW_RUNS runs of `input`, in this thread's CPU ms (a GC pause or a busy machine is not the input's). */
  async #cpuMs (input: Uint8Array): Promise<number> {
    let fastest = Infinity
    for (let i = 0; i < SLOW_RUNS; i++) {
      const cpu = process.threadCpuUsage()
      await this.#measure(input)
      const spent = process.threadCpuUsage(cpu)
      fastest = Math.min(fastest, (spent.user + spent.system) / 1000)
    }
    return fastest
  }

  #report (kind: FindingKind, input: Uint8Array, detail: string, shape: string): void {
    this.#findings++
    const signature = `${kind}: ${shape}`
    if (this.#signatures.has(signature)) return // one bug, many inputs: the first one stands for it
    this.#signatures.add(signature)
    this.#hooks.onFinding({ kind, input: input.slice(), detail, signature })
  }

  /** An input that reached a new outcome: into the corpus, or in place of an earlier such input. */
  #keep (input: Uint8Array): void {
    if (this.#corpus.length < this.#options.maxCorpus) this.#corpus.push(input)
    else if (this.#corpus.length > this.#pinned) this.#corpus[this.#pinned + this.#rng.below(this.#corpus.length - this.#pinned)] = input
  }

  #keepIfSlowest (input: Uint8Array, ms: number): void {
    if (this.#slowest.length === SLOWEST_KEPT && ms <= this.#slowest[0]!.ms) return
    this.#slowest.push({ ms, input })
    this.#slowest.sort((a, b) => a.ms - b.ms)
    if (this.#slowest.length > SLOWEST_KEPT) this.#slowest.shift()
  }
}
