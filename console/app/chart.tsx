/** Time series with uPlot: one chart, redrawn in place when its data changes. */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { useEffect, useRef } from 'preact/hooks'
import type { ComponentChildren } from 'preact'

export interface Series { label: string, color: string, values: number[] }

export interface ChartProps {
  label: string
  /** x values: seconds since the epoch */
  x: number[]
  series: Series[]
  formatY: (v: number) => string
  height?: number
}

export function TimeChart ({ label, x, series, formatY, height = 260 }: ChartProps): ComponentChildren {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | undefined>(undefined)
  const shape = series.map((s) => s.label).join('|')

  useEffect(() => {
    const el = box.current!
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, fill: `${s.color}33`, width: 2, value: (_u: uPlot, v: number | null) => v === null ? '—' : formatY(v) }))],
      axes: [{}, { values: (_u: uPlot, vals: number[]) => vals.map(formatY), size: 80 }],
      scales: { x: { time: true } }
    }
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)], el)
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height }))
    resize.observe(el)
    return () => { resize.disconnect(); plot.current?.destroy(); plot.current = undefined }
  }, [shape, height])

  useEffect(() => { plot.current?.setData([x, ...series.map((s) => s.values)]) }, [x, series])

  return <figure class="chart"><div ref={box} role="img" aria-label={label} /><figcaption class="sr-only">{label}</figcaption></figure>
}
