// `branchcast origin …`: helpers for the origin on the tracker host.
//   nginx-config   print the nginx server block that serves the chunk store with signed URLs
import { join } from 'node:path'
import { UsageError, defineCommand, integer, readFlag } from '../../protocol/index.ts'
import { loadTrackerConfig } from '../config.ts'
import { loadTrackerKeys } from '../keys.ts'
import { renderNginxConfig, renderNginxServerBlock } from '../origin/index.ts'

const HELP = `Usage: branchcast origin nginx-config [options]

Prints the nginx configuration that serves this tracker's chunk store
(<data>/store) as a static origin with signed, expiring URLs (nginx's stock
secure_link module). It contains the origin link secret from <data>/keys: save
it readable by root only. Then set the tracker's originUrl (--config file or
BRANCHCAST_ORIGIN_URL) to the URL nginx answers on. See docs/origin-nginx.md.

Options:
  --data DIR        tracker data directory (default .data/tracker)
                    [env BRANCHCAST_DATA]
  --port PORT       port nginx listens on (default 8480)
  --host ADDR       address nginx listens on (default: all)
  --server-name N   nginx server_name (default _)
  --standalone DIR  print a whole nginx.conf with pid, logs and temp files under
                    DIR, for a host that runs only the origin
                    (nginx -p DIR -c FILE)`

const command = defineCommand({
  name: 'origin',
  usage: HELP,
  flags: { data: 'string', port: 'string', host: 'string', 'server-name': 'string', standalone: 'string' },
  positionals: true,
  json: 'print {"config", "root", "port"} as JSON'
})

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  if (positionals.length !== 1 || positionals[0] !== 'nginx-config') throw new UsageError('expected the subcommand "nginx-config"')
  const port = readFlag('--port', values.port ?? '8480', integer(1, 65535))
  const { dataDir } = loadTrackerConfig({ flags: { dataDir: values.data } })
  // The same key files the tracker uses (created now, as the tracker would, if missing).
  const keys = await loadTrackerKeys(dataDir)
  const init = { dataDir, port, secret: keys.originLinkSecret, host: values.host, serverName: values['server-name'] }
  const config = values.standalone === undefined ? renderNginxServerBlock(init) : renderNginxConfig({ ...init, prefix: values.standalone })
  cli.print({ config, root: join(dataDir, 'store'), port }, () => config.replace(/\n$/, ''))
  return 0
}
