// `branchcast seeds`: the local directories and files the node indexes as seeds.
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { UsageError, defineCommand, formatBytes } from '../../protocol/index.ts'
import { DEFAULT_NODE_DATA_DIR, loadNodeConfig, updateNodeConfigFile } from '../config.ts'
import { DEFAULT_SEED_MAX_CHUNKS, MAX_SEED_ROOTS, SEED_INDEX_FILE, decodeSeedIndex } from '../seeds/index.ts'

const USAGE = `Usage: branchcast seeds add PATH... | remove PATH... | list | status
                        [--data DIR] [--json]

Seeds are local directories or files (a pre-staged copy, the host's own
files) the node indexes in the background: a pull takes the chunks they
hold before it goes to the network. "add" and "remove" edit
<data>/config.json; the node picks the change up at its next start.
"status" shows the index the node saved.

Options:
  --data DIR           data directory (default .data/node)
                       [env BRANCHCAST_NODE_DATA]`

const command = defineCommand({ name: 'seeds', usage: USAGE, positionals: true, json: true, flags: { data: 'string' } })

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const [action, ...paths] = cli.positionals
  const dataDir = cli.values.data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const config = loadNodeConfig({ flags: { dataDir } })
  if ((action === 'add' || action === 'remove') === (paths.length === 0)) throw new UsageError('"add" and "remove" take paths, "list" and "status" none; see "branchcast seeds --help"')
  switch (action) {
    case 'add': {
      const next = [...config.seeds]
      for (const p of paths.map((x) => resolve(x))) {
        const st = await stat(p).catch(() => undefined)
        if (st === undefined || !(st.isDirectory() || st.isFile())) throw new UsageError(`${p}: not a directory or file`)
        if (!next.includes(p)) next.push(p)
      }
      if (next.length > MAX_SEED_ROOTS) throw new UsageError(`at most ${MAX_SEED_ROOTS} seed paths`)
      await mkdir(dataDir, { recursive: true, mode: 0o700 })
      await updateNodeConfigFile(dataDir, { seeds: next })
      cli.print({ seeds: next }, () => next.join('\n'))
      return 0
    }
    case 'remove': {
      const gone = paths.map((x) => resolve(x))
      for (const p of gone) if (!config.seeds.includes(p)) throw new UsageError(`${p} is not a seed path`)
      const next = config.seeds.filter((p) => !gone.includes(p))
      await updateNodeConfigFile(dataDir, { seeds: next })
      cli.print({ seeds: next }, () => next.join('\n'))
      return 0
    }
    case 'list':
      cli.print({ seeds: config.seeds }, () => config.seeds.length === 0 ? '(no seed paths)' : config.seeds.join('\n'))
      return 0
    case 'status': {
      let sets: ReturnType<typeof decodeSeedIndex> = []
      try {
        sets = decodeSeedIndex(await readFile(join(dataDir, SEED_INDEX_FILE)), config.seedMaxChunks ?? DEFAULT_SEED_MAX_CHUNKS)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
      const rows = sets.map((s) => ({
        chunking: s.params,
        files: s.files.length,
        chunks: s.files.reduce((n, f) => n + f.ids.length, 0),
        bytes: s.files.reduce((n, f) => n + f.lengths.reduce((a, b) => a + b, 0), 0)
      }))
      const maxChunks = config.seedMaxChunks ?? DEFAULT_SEED_MAX_CHUNKS
      cli.print({ seeds: config.seeds, maxChunks, sets: rows }, () => [
        `seed paths: ${config.seeds.length === 0 ? '(none)' : config.seeds.join(', ')}`,
        ...rows.map((r) => `chunking ${r.chunking.avgBytes / 1024} KiB avg: ${r.files} files, ${r.chunks} chunks (${formatBytes(r.bytes)})`),
        `cap: ${maxChunks} chunks`
      ].join('\n'))
      return 0
    }
    default:
      throw new UsageError(`unknown action ${JSON.stringify(action ?? '')}; see "branchcast seeds --help"`)
  }
}
