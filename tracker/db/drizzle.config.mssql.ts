// drizzle-kit config for the SQL Server dialect; see tracker/db/README.md for the command.
export default {
  dialect: 'mssql',
  schema: './tracker/db/schema.mssql.ts',
  out: './tracker/db/migrations/mssql'
}
