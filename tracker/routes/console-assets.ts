/**
 * The console's front end, bundled by esbuild from `console/app/` once, when the first
 * console page is asked for (in memory, ~0.2 s): one JavaScript and one CSS file, served from `/console/assets/`. No
 * build output is kept on disk or committed, and nothing is fetched from elsewhere: the
 * libraries come from node_modules. `node:` built-ins that shared protocol modules import
 * (hashing, used only by the node and the tracker) become empty stubs in the browser.
 */
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'esbuild'
import type { Logger } from '../../protocol/index.ts'

const ENTRY = fileURLToPath(new URL('../../console/app/main.tsx', import.meta.url))

export interface ConsoleAsset {
  body: Uint8Array
  /** the same, gzip-compressed once at start (the script is ~0.8 MB, ~0.2 MB compressed) */
  gzip: Uint8Array
  type: string
  etag: string
}

export interface ConsoleAssets {
  /** Starts the bundle if it has not started (it is built once). */
  warm: () => void
  /** An asset by file name (`main.js`, `main.css`), undefined when there is none; rejects when the bundle failed. */
  get: (name: string) => Promise<ConsoleAsset | undefined>
}

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }

/** `node:*` imports of shared modules: stubs, so the browser bundle holds only what the console calls. */
const nodeBuiltinStubs: Plugin = {
  name: 'node-builtin-stubs',
  setup (build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }))
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ contents: 'module.exports = {}', loader: 'js' }))
  }
}

async function bundle (): Promise<Map<string, ConsoleAsset>> {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    outdir: '/console-assets',
    entryNames: 'main',
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [nodeBuiltinStubs]
  })
  const out = new Map<string, ConsoleAsset>()
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1)
    const ext = name.slice(name.lastIndexOf('.') + 1)
    out.set(name, { body: f.contents, gzip: gzipSync(f.contents, { level: 9 }), type: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(f.contents).digest('base64url').slice(0, 22)}"` })
  }
  return out
}

/**
 * Bundles on first use (the shell page asks, so the bundle is under way before the browser
 * asks for it), once per tracker; an app built only for its route table never runs esbuild.
 */
export function consoleAssets (logger: Logger): ConsoleAssets {
  const log = logger.forComponent('tracker:console')
  let built: Promise<Map<string, ConsoleAsset>> | undefined
  const start = (): Promise<Map<string, ConsoleAsset>> => {
    if (built === undefined) {
      const started = performance.now()
      built = bundle()
      built.then(
        (m) => log.debug('console bundled', { files: m.size, ms: Math.round(performance.now() - started) }),
        (err) => log.error('console bundle failed', { err })
      )
    }
    return built
  }
  return {
    warm: () => { void start().catch(() => {}) },
    get: async (name) => (await start()).get(name)
  }
}
