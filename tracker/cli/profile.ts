// `branchcast profile publish|show|candidates|clear`: an image version's boot profile
// (instant start) and the recordings nodes handed in for it, admins only.
import { readFile } from 'node:fs/promises'
import { UsageError, defineCommand, integer, readFlag } from '../../protocol/index.ts'
import type { BootProfileCandidateList, BootProfileResult } from '../../protocol/index.ts'

const HELP = `Usage: branchcast profile <command> N --image NAME [options]

  profile publish N --image NAME --file PATH
                                   sign and publish a recording: chunk ids in
                                   first-read order (a JSON array, or
                                   {"chunks": [...]})
  profile show N --image NAME      the signed profile of version N
  profile candidates N --image NAME
                                   recorded lazy boots held for version N (the
                                   tracker publishes their merge at a quorum)
  profile clear N --image NAME     drop the recordings held for version N

Options:
  --image NAME      the image
  --file PATH       the recording (chunk ids in first-read order)`

const command = defineCommand({ name: 'profile', usage: HELP, flags: { image: 'string', file: 'string' }, positionals: true, api: true, json: true })

/** Largest recording file read: the API's body cap, with room for whitespace. */
const MAX_FILE_BYTES = 4 * 1024 * 1024

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const [action, n] = positionals
  if (values.image === undefined || action === undefined || n === undefined) throw new UsageError('needs a command (publish, show, candidates, clear), a version N and --image NAME')
  const path = `/api/v1/images/${encodeURIComponent(values.image)}/versions/${readFlag('N', n, integer(1))}/boot-profile`
  const client = cli.client()
  if (action === 'show') {
    const doc = await client.json<{ payload: string }>('GET', path)
    const profile = JSON.parse(doc.payload) as { chunks: string[], manifestDigest: string }
    cli.print(profile, () => `${profile.chunks.length} chunks, manifest ${profile.manifestDigest}`)
    return 0
  }
  if (action === 'candidates') {
    const list = await client.json<BootProfileCandidateList>('GET', `${path}/candidates`)
    cli.print(list, () => [
      `${list.image} version ${list.version}: profile ${list.published ?? 'none'}, ${list.candidates.length} of ${list.quorum} recordings`,
      ...list.candidates.map((c) => `  ${c.user}  ${c.clientId}  ${c.chunks} chunks  ${c.end}  ${c.durationMs} ms`)
    ].join('\n'))
    return 0
  }
  if (action === 'clear') {
    const out = await client.json<{ cleared: number }>('DELETE', `${path}/candidates`)
    cli.print(out, () => `dropped ${out.cleared} recordings`)
    return 0
  }
  if (action !== 'publish') throw new UsageError(`unknown command "${action}" (publish, show, candidates, clear)`)
  if (values.file === undefined) throw new UsageError('publish needs --file PATH')
  const text = await readFile(values.file, 'utf8')
  if (text.length > MAX_FILE_BYTES) throw new UsageError(`${values.file} is larger than any recording`)
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { throw new UsageError(`${values.file} is not JSON`) }
  const chunks = Array.isArray(parsed) ? parsed : (parsed as { chunks?: unknown }).chunks
  if (!Array.isArray(chunks)) throw new UsageError(`${values.file}: expected an array of chunk ids or {"chunks": [...]}`)
  const out = await client.json<BootProfileResult>('PUT', path, { json: { chunks } })
  cli.print(out, () => `boot profile of ${out.image} version ${out.version}: ${out.chunks} chunks, ${out.bytes} B, served at ${out.path}`)
  return 0
}
