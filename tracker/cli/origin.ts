// `branchcast origin …`: helpers for the origin on the tracker host.
//   nginx-config   print the nginx server block that serves the chunk store with signed URLs
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadTrackerConfig } from '../config.ts'
import { loadTrackerKeys } from '../keys.ts'
import { renderNginxConfig, renderNginxServerBlock } from '../origin/index.ts'

const HELP = `Usage: branchcast origin nginx-config [options]

Prints the nginx configuration that serves this tracker's chunk store (<data>/store) as a
static origin with signed, expiring URLs (nginx's stock secure_link module). It contains
the origin link secret from <data>/keys: save it readable by root only. Then set the
tracker's originUrl (--config file or BRANCHCAST_ORIGIN_URL) to the URL nginx answers on.
See docs/origin-nginx.md.

Options:
  --data DIR        tracker data directory                  [env BRANCHCAST_DATA, default .data/tracker]
  --port PORT       port nginx listens on                   [default 8480]
  --host ADDR       address nginx listens on                [default: all]
  --server-name N   nginx server_name                       [default _]
  --standalone DIR  print a whole nginx.conf with pid, logs and temp files under DIR
                    (for a host that runs only the origin: nginx -p DIR -c FILE)
  --json            print {"config", "root", "port"} as JSON
  -h, --help        this help`

export async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'server-name': { type: 'string' },
      standalone: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    allowPositionals: true,
    strict: true
  })
  if (values.help === true) { console.log(HELP); return 0 }
  if (positionals.length !== 1 || positionals[0] !== 'nginx-config') {
    console.error(`branchcast origin: expected the subcommand "nginx-config"\n\n${HELP}`)
    return 2
  }
  const port = Number(values.port ?? 8480)
  if (!Number.isInteger(port) || port < 1 || port > 65535) { console.error('branchcast origin: --port must be 1..65535'); return 2 }
  const { dataDir } = loadTrackerConfig({ flags: { dataDir: values.data } })
  // The same key files the tracker uses (created now, as the tracker would, if missing).
  const keys = await loadTrackerKeys(dataDir)
  const init = { dataDir, port, secret: keys.originLinkSecret, host: values.host, serverName: values['server-name'] }
  let config: string
  try {
    config = values.standalone === undefined ? renderNginxServerBlock(init) : renderNginxConfig({ ...init, prefix: values.standalone })
  } catch (err) {
    console.error(`branchcast origin: ${(err as Error).message}`)
    return 2
  }
  if (values.json === true) process.stdout.write(JSON.stringify({ config, root: join(dataDir, 'store'), port }) + '\n')
  else process.stdout.write(config)
  return 0
}
