import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatDownloadWindow, formatDuration, parseDownloadWindow, parseDurationMs, parseRateBytesPerSec, parseTimeMs } from '../../../protocol/units.ts'

const H = 3_600_000
const D = 24 * H

test('durations: each unit and combinations', () => {
  for (const [text, ms] of [['90s', 90_000], ['15m', 900_000], ['12h', 12 * H], ['30d', 30 * D], ['2w', 14 * D], ['1d12h', 36 * H], [' 7d ', 7 * D], ['500ms', 500], ['1s500ms', 1500]] as const) {
    assert.is(parseDurationMs(text), ms, text)
  }
})

test('durations: refused with TypeError', () => {
  for (const text of ['', '30', 'd', '1y', '1M', '-1d', '1.5d', '0d', '30 d', '1d-2h', '9999999999d', '1m'.repeat(30)]) {
    assert.throws(() => parseDurationMs(text), TypeError, text)
  }
})

test('times: epoch ms or ISO 8601, anything else undefined', () => {
  assert.is(parseTimeMs('1700000000000'), 1_700_000_000_000)
  assert.is(parseTimeMs('2026-11-28T00:00:00Z'), Date.UTC(2026, 10, 28))
  for (const text of ['', 'yesterday', '12:00']) assert.is(parseTimeMs(text), undefined, text)
})

test('durations format back to the largest exact unit', () => {
  assert.is(formatDuration(7 * D), '1w')
  assert.is(formatDuration(36 * H), '36h')
  assert.is(formatDuration(90_000), '90s')
  assert.is(formatDuration(1500), '1500ms')
})

test('byte rates: decimal and binary units, with or without /s', () => {
  for (const [text, bps] of [['10MB/s', 10_000_000], ['512KiB/s', 524_288], ['1.5GB/s', 1_500_000_000], ['20000', 20_000], ['2MiB', 2 * 1024 ** 2], ['1gib/s', 1024 ** 3]] as const) {
    assert.is(parseRateBytesPerSec(text), bps, text)
  }
  for (const text of ['', 'fast', '10XB/s', '-5MB/s', '0', 'MB/s', '100kbps']) assert.throws(() => parseRateBytesPerSec(text), TypeError, text)
})

test('download windows: same-day and wrapping past midnight; round trip', () => {
  assert.equal(parseDownloadWindow('22:00-06:00'), { startMinute: 1320, endMinute: 360 })
  assert.equal(parseDownloadWindow('09:30-17:45'), { startMinute: 570, endMinute: 1065 })
  assert.equal(parseDownloadWindow('00:00-23:59'), { startMinute: 0, endMinute: 1439 })
  for (const text of ['22:00-06:00', '09:30-17:45', '00:00-23:59']) assert.is(formatDownloadWindow(parseDownloadWindow(text)), text)
})

test('download windows: refused with TypeError', () => {
  for (const text of ['', '22-06', '24:00-06:00', '22:60-06:00', '9:00-17:00', '22:00–06:00', '08:00-08:00', '22:00-06:00x']) {
    assert.throws(() => parseDownloadWindow(text), TypeError, text)
  }
})

test.run()
