// Until the console lands: a page that says where things are.
import { Hono } from 'hono'
import type { TrackerEnv } from '../env.ts'

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Branchcast</title></head>
<body><h1>Branchcast tracker</h1><p>The web console is not built yet. The API is under <code>/api/v1</code>
(described at <code>/api/v1/openapi.json</code>, token required); health at <code>/healthz</code>, metrics at <code>/metrics</code>.</p></body></html>`

export function consolePlaceholder (): Hono<TrackerEnv> {
  const app = new Hono<TrackerEnv>()
  app.get('/', (c) => c.html(PAGE))
  return app
}
