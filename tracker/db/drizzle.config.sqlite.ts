// drizzle-kit config for the SQLite dialect; see tracker/db/README.md for the command.
export default {
  dialect: 'sqlite',
  schema: './tracker/db/schema.sqlite.ts',
  out: './tracker/db/migrations/sqlite'
}
