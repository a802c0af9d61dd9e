/**
 * The bench's image pair, built from real files on this machine without internet: v1 is an
 * ext4 image (mkfs.ext4 -d) of regular files taken from /usr in sorted order up to a budget;
 * v2 is the same tree after an "OS patch" — files patched in place, files with bytes
 * inserted, files rewritten throughout (a relinked binary: a few bytes in every 4 KiB page
 * plus growth), files removed and new files added — rebuilt from scratch with mkfs.ext4,
 * so unchanged data moves. Every choice comes from a seeded PRNG: same machine, same pair.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { prng } from '../chunking/input.ts'

const ROOTS = ['/usr/lib/x86_64-linux-gnu', '/usr/share', '/usr/bin', '/usr/lib/python3', '/usr/libexec']
const MAX_FILE_BYTES = 16 * 1024 * 1024

export interface Pair {
  v1: string
  v2: string
  /** files new or changed in v2, concatenated: what the floor compresses */
  changed: string
  changedBytes: number
  files: { v1: number, patched: number, inserted: number, rewritten: number, removed: number, added: number }
}

function * walk (dir: string): Generator<string> {
  let names: string[]
  try { names = readdirSync(dir).sort() } catch { return }
  for (const n of names) {
    const p = join(dir, n)
    let st
    try { st = lstatSync(p) } catch { continue }
    if (st.isDirectory()) yield * walk(p)
    else if (st.isFile() && st.size > 0 && st.size <= MAX_FILE_BYTES) yield p
  }
}

function mkfs (tree: string, image: string, sizeBytes: number): void {
  rmSync(image, { force: true })
  const r = spawnSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-U', '0b1c2d3e-0000-4000-8000-000000000013', '-E', 'hash_seed=0b1c2d3e-0000-4000-8000-000000000013,root_owner=0:0', '-d', tree, image, `${Math.ceil(sizeBytes / 4096)}`],
    { encoding: 'utf8', env: { ...process.env, E2FSPROGS_FAKE_TIME: '1780000000' } })
  if (r.status !== 0) throw new Error(`mkfs.ext4 failed: ${r.stderr}`)
}

export function buildPair (work: string, budgetBytes: number): Pair {
  const done = join(work, 'pair.json')
  // the pair is cached for the budget it was built with; another budget builds it again
  if (existsSync(done)) {
    const cached = JSON.parse(readFileSync(done, 'utf8')) as Pair & { budgetBytes?: number }
    if (cached.budgetBytes === budgetBytes) return cached
  }
  rmSync(work, { recursive: true, force: true })
  const t1 = join(work, 'tree1')
  const t2 = join(work, 'tree2')
  const picked: string[] = []
  const spare: string[] = []
  let total = 0
  let spareBytes = 0
  // a sample across all roots, so the tree has the mix of sizes and kinds a system has
  const all = ROOTS.flatMap((root) => [...walk(root)].map((p) => ({ p, size: statSync(p).size })))
  const allBytes = all.reduce((n, f) => n + f.size, 0)
  const pick = prng(7)
  for (const f of all) {
    const r = pick()
    if (r < budgetBytes / allBytes && total + f.size <= budgetBytes) { picked.push(f.p); total += f.size } else if (r > 0.97 && spareBytes < budgetBytes / 40) { spare.push(f.p); spareBytes += f.size }
  }
  const rel = (p: string): string => p.slice(1)
  for (const p of picked) {
    const dst = join(t1, rel(p))
    mkdirSync(dirname(dst), { recursive: true })
    copyFileSync(p, dst)
  }
  const rand = prng(13)
  const files = { v1: picked.length, patched: 0, inserted: 0, rewritten: 0, removed: 0, added: 0 }
  const changed: Buffer[] = []
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)))
  for (const p of picked) {
    const r = rand()
    const dst = join(t2, rel(p))
    if (r < 0.01) { files.removed++; continue }
    mkdirSync(dirname(dst), { recursive: true })
    let bytes = readFileSync(join(t1, rel(p)))
    if (r < 0.03) {
      // in place: a handful of short edits (a version string, a constant, a jump offset)
      bytes = Buffer.from(bytes)
      const edits = 1 + Math.floor(rand() * 8)
      for (let e = 0; e < edits; e++) {
        const n = Math.min(bytes.length, 1 + Math.floor(rand() * 16))
        randomBytes(n).copy(bytes, Math.floor(rand() * (bytes.length - n + 1)))
      }
      files.patched++
    } else if (r < 0.045) {
      // insertion: 64 B..4 KiB of another file's bytes spliced in
      const donor = readFileSync(join(t1, rel(picked[Math.floor(rand() * picked.length)])))
      const n = Math.min(donor.length, 64 + Math.floor(rand() * 4032))
      const from = Math.floor(rand() * (donor.length - n + 1))
      const at = Math.floor(rand() * (bytes.length + 1))
      bytes = Buffer.concat([bytes.subarray(0, at), donor.subarray(from, from + n), bytes.subarray(at)])
      files.inserted++
    } else if (r < 0.055) {
      // rewritten throughout, as a relinked binary: 4 bytes in every 4 KiB page, and growth
      bytes = Buffer.from(bytes)
      for (let o = Math.floor(rand() * 4096); o + 4 <= bytes.length; o += 4096) randomBytes(4).copy(bytes, o)
      bytes = Buffer.concat([bytes, randomBytes(Math.floor(rand() * 2048))])
      files.rewritten++
    } else {
      copyFileSync(join(t1, rel(p)), dst)
      continue
    }
    writeFileSync(dst, bytes)
    changed.push(bytes)
  }
  for (const p of spare) {
    const dst = join(t2, 'opt/new', rel(p))
    mkdirSync(dirname(dst), { recursive: true })
    copyFileSync(p, dst)
    changed.push(readFileSync(p))
    files.added++
  }
  const imageBytes = Math.ceil((total * 1.3 + 64 * 1024 * 1024) / (1 << 20)) * (1 << 20)
  const v1 = join(work, 'v1.img')
  const v2 = join(work, 'v2.img')
  mkfs(t1, v1, imageBytes)
  mkfs(t2, v2, imageBytes)
  const changedPath = join(work, 'changed.bin')
  writeFileSync(changedPath, Buffer.concat(changed))
  rmSync(t1, { recursive: true, force: true })
  rmSync(t2, { recursive: true, force: true })
  const pair: Pair = { v1, v2, changed: changedPath, changedBytes: changed.reduce((n, b) => n + b.length, 0), files }
  writeFileSync(done, JSON.stringify({ ...pair, budgetBytes }))
  return pair
}
