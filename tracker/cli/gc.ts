// `branchcast gc`: delete chunk files no live version references, and abandoned drafts.
import { defineCommand } from '../../protocol/index.ts'
import type { GcResult } from '../../protocol/index.ts'

const HELP = `Usage: branchcast gc [options]

Asks the tracker to delete chunk files that no draft, published or recently
retired version references (safe while uploads run) and drafts whose upload
died. Needs an admin token.`

const command = defineCommand({ name: 'gc', usage: HELP, api: true, json: true })

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const r = await cli.client().json<GcResult>('POST', '/api/v1/gc')
  cli.print(r, () => `freed ${r.freedBytes} bytes: ${r.deletedChunks} of ${r.scannedChunks} chunk files deleted, ${r.keptRecent} too recent to touch, ${r.deletedDrafts.length} abandoned drafts removed (${r.durationMs} ms)`)
  return 0
}
