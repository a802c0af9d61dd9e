// The store contract on SQL Server, when MSSQL_URL names a server
// (e.g. mssql://sa:Passw0rd!@127.0.0.1:1433/branchcast_test?encrypt=true&trustServerCertificate=true).
// Each test gets freshly emptied tables in that database, so point it at a scratch database.
import { test } from 'uvu'
import { run } from './store.contract.ts'
import { openStore } from '../../../tracker/db/index.ts'

const url = process.env.MSSQL_URL

const TABLES = ['version_chunks', 'versions', 'images', 'uploads', 'assignments', 'policies', 'api_tokens', 'clients', 'swarm_members', 'events']

if (url === undefined || url === '') {
  console.log('store contract: mssql — SKIPPED: MSSQL_URL is not set (no SQL Server on this machine); set it to run the contract against SQL Server')
  test('mssql contract skipped (MSSQL_URL not set)', () => {})
} else {
  run('mssql', {
    open: async () => {
      const store = await openStore({ url })
      // Empty every table through a second connection (the store exposes no raw SQL).
      const mssql = (await import('mssql')).default
      const pool = await mssql.connect(url.replace(/^sqlserver:/i, 'mssql:'))
      try {
        for (const t of TABLES) await pool.request().query(`DELETE FROM [${t}]`)
      } finally {
        await pool.close()
      }
      return store
    }
  })
}

test.run()
