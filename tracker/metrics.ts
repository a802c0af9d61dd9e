/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in
 * the text exposition format for `/metrics`.
 */

type Labels = Record<string, string>

function key (labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')
}

interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  render: () => string[]
}

export interface Counter { inc: (labels?: Labels, by?: number) => void }
export interface Gauge { set: (value: number, labels?: Labels) => void }
export interface Histogram { observe: (value: number, labels?: Labels) => void }

export interface Metrics {
  counter: (name: string, help: string) => Counter
  gauge: (name: string, help: string, collect?: () => Array<{ labels?: Labels, value: number }>) => Gauge
  histogram: (name: string, help: string, buckets: number[]) => Histogram
  render: () => string
}

export function createMetrics (): Metrics {
  const families: Family[] = []

  return {
    counter (name, help) {
      const values = new Map<string, number>()
      families.push({ name, help, type: 'counter', render: () => [...values].map(([k, v]) => `${name}${k === '' ? '' : `{${k}}`} ${v}`) })
      return { inc: (labels = {}, by = 1) => { const k = key(labels); values.set(k, (values.get(k) ?? 0) + by) } }
    },
    gauge (name, help, collect) {
      const values = new Map<string, number>()
      families.push({
        name,
        help,
        type: 'gauge',
        render: () => {
          if (collect !== undefined) {
            values.clear()
            for (const { labels = {}, value } of collect()) values.set(key(labels), value)
          }
          return [...values].map(([k, v]) => `${name}${k === '' ? '' : `{${k}}`} ${v}`)
        }
      })
      return { set: (value, labels = {}) => { values.set(key(labels), value) } }
    },
    histogram (name, help, buckets) {
      const sorted = [...buckets].sort((a, b) => a - b)
      const series = new Map<string, { counts: number[], sum: number, count: number }>()
      families.push({
        name,
        help,
        type: 'histogram',
        render: () => {
          const lines: string[] = []
          for (const [k, s] of series) {
            const sep = k === '' ? '' : `${k},`
            sorted.forEach((b, i) => lines.push(`${name}_bucket{${sep}le="${b}"} ${s.counts[i]}`))
            lines.push(`${name}_bucket{${sep}le="+Inf"} ${s.count}`)
            lines.push(`${name}_sum${k === '' ? '' : `{${k}}`} ${s.sum}`)
            lines.push(`${name}_count${k === '' ? '' : `{${k}}`} ${s.count}`)
          }
          return lines
        }
      })
      return {
        observe (value, labels = {}) {
          const k = key(labels)
          let s = series.get(k)
          if (s === undefined) { s = { counts: sorted.map(() => 0), sum: 0, count: 0 }; series.set(k, s) }
          sorted.forEach((b, i) => { if (value <= b) s.counts[i]!++ })
          s.sum += value
          s.count++
        }
      }
    },
    render () {
      return families.map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render()].join('\n')).join('\n') + '\n'
    }
  }
}
