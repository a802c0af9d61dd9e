// `npm run bench -- <name>` runs bench/<name>/index.ts; with no name, lists them.
import { readdirSync, existsSync } from 'node:fs'

const here = new URL('.', import.meta.url)
const name = process.argv[2]
const available = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/index.ts`, here)))
  .map((d) => d.name)
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>   (one of: ${available.join(', ')})`)
  process.exit(name === undefined ? 0 : 1)
}
process.argv.splice(2, 1)
await import(new URL(`${name}/index.ts`, here).href)
