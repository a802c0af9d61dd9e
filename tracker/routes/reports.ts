/**
 * Reports, admins only: `GET /api/v1/reports/{status|activity|errors|offload|deployment}`,
 * one JSON page (`limit`, `cursor` → `nextCursor`), or with `?format=csv` every row from
 * the cursor on, streamed a page at a time as the client reads (constant memory whatever
 * the result's size). Shapes: `protocol/api/reports.ts`; the rules: `reports/`.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { ReportAnswerSchema, ReportParamsSchema, ReportQuerySchema } from '../../protocol/index.ts'
import type { ReportName, ReportRow } from '../../protocol/index.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { REPORT_COLUMNS, csvLine } from '../reports/index.ts'
import { ADMIN_ERRORS, adminOnly } from './admin-request.ts'
import { newRouter } from './router.ts'

/** CSV of every row `pages` yields, pulled as the client reads; the first page is read before the answer starts. */
async function csvStream<N extends ReportName> (name: N, pages: AsyncGenerator<Array<ReportRow<N>>>): Promise<ReadableStream<Uint8Array>> {
  const columns = REPORT_COLUMNS[name]
  const encoder = new TextEncoder()
  // errors in the query (a bad cursor or filter) become a JSON error answer, not a cut-off CSV
  let first: IteratorResult<Array<ReportRow<N>>> | undefined = await pages.next()
  const render = (rows: Array<ReportRow<N>>): Uint8Array => encoder.encode(rows.map((r) => csvLine(columns.map((col) => col.cell(r)))).join(''))
  return new ReadableStream<Uint8Array>({
    start (controller) {
      controller.enqueue(encoder.encode(csvLine(columns.map((col) => col.header))))
    },
    async pull (controller) {
      const next = first ?? await pages.next()
      first = undefined
      if (next.done === true) controller.close()
      else controller.enqueue(render(next.value))
    },
    async cancel () {
      await pages.return(undefined)
    }
  }, { highWaterMark: 1 })
}

export function reportsRoutes ({ reports }: Pick<TrackerComponents, 'reports'>): OpenAPIHono<TrackerEnv> {
  const app = newRouter()

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/reports/{name}',
    summary: 'A report (admin): status, activity, errors, offload or deployment; JSON pages or streamed CSV',
    request: { params: ReportParamsSchema, query: ReportQuerySchema },
    responses: {
      200: {
        description: 'one page of rows (JSON), or every row from the cursor on (format=csv)',
        content: { 'application/json': { schema: ReportAnswerSchema }, 'text/csv': { schema: { type: 'string' } } }
      },
      ...ADMIN_ERRORS
    }
  }), async (c) => {
    const { name } = c.req.valid('param')
    const query = c.req.valid('query')
    if (query.format === 'csv') {
      const body = await csvStream(name, reports.export(name, query, c.req.raw.signal))
      return new Response(body, {
        status: 200,
        headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="branchcast-${name}.csv"`, 'cache-control': 'no-store' }
      }) as never
    }
    return c.json(await reports.page(name, query), 200)
  })

  return app
}
