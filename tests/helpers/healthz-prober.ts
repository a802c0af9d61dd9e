/**
 * Probes a tracker's `/healthz` from a worker thread, so the latencies measure the tracker
 * and not the test's own event loop (which may be busy sending a flood). `start()` begins,
 * `stop()` ends and returns every latency in ms (Infinity for a failed probe).
 */
import { Worker } from 'node:worker_threads'

const PROBE = `
const { parentPort, workerData } = require('node:worker_threads')
const { request } = require('node:http')
let stopping = false
const latencies = []
parentPort.on('message', () => { stopping = true })
function probe () {
  return new Promise((resolve) => {
    const started = performance.now()
    const req = request(workerData.url + '/healthz', { localAddress: '127.0.0.2', agent: false, signal: AbortSignal.timeout(5000) }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Infinity))
      res.once('error', () => resolve(Infinity))
    })
    req.once('error', () => resolve(Infinity))
    req.end()
  })
}
;(async () => {
  while (!stopping) {
    latencies.push(await probe())
    await new Promise((resolve) => setTimeout(resolve, workerData.intervalMs))
  }
  parentPort.postMessage(latencies)
})()
`

export interface HealthzProber {
  stop: () => Promise<number[]>
}

export function startHealthzProber (url: string, intervalMs = 50): HealthzProber {
  const worker = new Worker(PROBE, { eval: true, workerData: { url, intervalMs } })
  const done = new Promise<number[]>((resolve, reject) => {
    worker.once('message', (l: number[]) => resolve(l))
    worker.once('error', reject)
  })
  return {
    async stop () {
      worker.postMessage('stop')
      const latencies = await done
      await worker.terminate()
      return latencies
    }
  }
}
