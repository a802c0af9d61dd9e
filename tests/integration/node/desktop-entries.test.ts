// Published applications as desktop entries on a real file system: the reference validator
// accepts them, GLib's own launcher (`gio launch`) hands hostile names to the command
// exactly, a policy change rewrites only what changed, revocation removes every entry,
// and nothing is written outside our folder.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { chmod, lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLogger } from '../../../protocol/logger.ts'
import { APPLICATIONS_SUBDIR, createPublishedApps } from '../../../node/desktop/index.ts'
import type { PublishedApp } from '../../../node/desktop/index.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { rejects } from '../../helpers/rejects.ts'

const run = promisify(execFile)
const logger = createLogger({ level: 'silent' })

/** Names a policy may hold (no control characters) that break naive quoting. */
const HOSTILE = [
  'Word', 'My App', 'say "hi"', "it's", '$HOME', '`id`', '$(reboot)', 'back\\slash', 'two\\\\back', '100% sure', '%f %u %%',
  'a;b&c|d', '<in>out', '~tilde', '*?#()', '--help', '-rf', ' leading', 'trailing ', '=', 'Übersicht 日本語', '"\\$`%'
]

async function withFolder (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await makeTmpDir('branchcast-desktop-')
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

/** A stand-in for `branchcast` that writes the arguments it got, one JSON array per line, to `out`. */
async function recorder (dir: string, out: string): Promise<string> {
  const path = join(dir, 'record.mjs')
  await writeFile(path, `#!${process.execPath}\nimport { appendFileSync } from 'node:fs'\nappendFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(2)) + '\\n')\n`)
  await chmod(path, 0o755)
  return path
}

async function waitForLines (path: string, n: number, timeoutMs = 20_000): Promise<string[][]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const lines = (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '')
    if (lines.length >= n) return lines.map((l) => JSON.parse(l) as string[])
    if (Date.now() > deadline) throw new Error(`${lines.length} of ${n} launches recorded`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

test('every entry passes desktop-file-validate, and gio launch passes hostile names through exactly', async () => {
  await withFolder(async (dir) => {
    const out = join(dir, 'argv.jsonl')
    const apps = createPublishedApps({ applicationsDir: join(dir, 'applications'), command: [await recorder(dir, out)], dataDir: join(dir, 'data dir $x') }, { logger })
    const published: PublishedApp[] = HOSTILE.map((name) => ({ name, command: 'true' }))
    const r = await apps.syncPublishedApps('ws-1.0', published)
    assert.is(r.written.length, HOSTILE.length)
    const files = await apps.list('ws-1.0')
    assert.is(files.length, HOSTILE.length)
    const folder = apps.folder('ws-1.0')
    for (const f of files) {
      const v = await run('desktop-file-validate', [join(folder, f)]).catch((err: { stdout?: string, stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? 'failed' }))
      assert.is(`${v.stdout}${v.stderr}`.replace(/^.*hint:.*$/gm, '').trim(), '', `${f}: ${v.stdout}${v.stderr}`)
    }
    for (const f of files) await run('gio', ['launch', join(folder, f)], { timeout: 20_000 })
    const launched = await waitForLines(out, files.length)
    const names = launched.map((argv) => {
      assert.equal(argv.slice(0, 5), ['app', '--data', join(dir, 'data dir $x'), '--', 'ws-1.0'], JSON.stringify(argv))
      assert.is(argv.length, 6, JSON.stringify(argv))
      return argv[5]!
    })
    assert.equal(names.sort(), [...HOSTILE].sort())
  })
})

test('a policy change rewrites what changed and removes what went; revocation removes the folder', async () => {
  await withFolder(async (dir) => {
    const applications = join(dir, 'applications')
    const apps = createPublishedApps({ applicationsDir: applications, command: ['/usr/bin/branchcast'] }, { logger })
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32, 7)])
    const first = await apps.syncPublishedApps('ws', [
      { name: 'Ledger', command: 'ledger', icon: `data:image/png;base64,${png.toString('base64')}` },
      { name: 'Calc', command: 'calc', icon: 'accessories-calculator' },
      { name: 'Notes', command: 'notes', icon: 'C:\\Apps\\notes.ico' }
    ])
    assert.is(first.written.length, 4, 'three entries and one icon file')
    const folder = apps.folder('ws')
    assert.is(folder, join(applications, APPLICATIONS_SUBDIR, 'ws'))
    const ledger = (await apps.list('ws')).find((f) => f.startsWith('ledger-'))!
    const text = await readFile(join(folder, ledger), 'utf8')
    const iconPath = /\nIcon=(.*)\n/.exec(text)![1]!
    assert.ok(iconPath.startsWith(folder + '/'), iconPath)
    assert.equal(await readFile(iconPath), png, 'the icon written is the policy\'s, byte for byte')
    assert.match(await readFile(join(folder, (await apps.list('ws')).find((f) => f.startsWith('notes-'))!), 'utf8'), /\nIcon=application-x-executable\n/)

    const same = await apps.syncPublishedApps('ws', [
      { name: 'Ledger', command: 'ledger', icon: `data:image/png;base64,${png.toString('base64')}` },
      { name: 'Calc', command: 'calc', icon: 'accessories-calculator' },
      { name: 'Notes', command: 'notes', icon: 'C:\\Apps\\notes.ico' }
    ])
    assert.equal([same.written, same.removed], [[], []], 'nothing changed, nothing written')

    const changed = await apps.syncPublishedApps('ws', [{ name: 'Calc', command: 'calc', icon: 'calc-new' }])
    assert.is(changed.written.length, 1)
    assert.is(changed.removed.length, 3, 'two entries and the icon')
    assert.is((await readdir(folder)).length, 1)
    assert.match(await readFile(join(folder, (await apps.list('ws'))[0]!), 'utf8'), /\nIcon=calc-new\n/)

    await writeFile(join(folder, 'README.txt'), 'not ours')
    const revoked = await apps.syncPublishedApps('ws', [])
    assert.is(revoked.removed.length, 1)
    assert.equal(await apps.list('ws'), [])
    assert.equal(await readdir(folder), ['README.txt'], 'a file we did not write is left alone (and so is the folder)')
    await rm(join(folder, 'README.txt'))
    await apps.syncPublishedApps('ws', [])
    assert.not.ok(await lstat(folder).then(() => true, () => false), 'the revoked workspace\'s folder is gone')
    await apps.syncPublishedApps('never-had-apps', [])
  })
})

test('nothing is written through a symlink where our folder should be, nor for a name that is not an image name', async () => {
  await withFolder(async (dir) => {
    const applications = join(dir, 'applications')
    const elsewhere = join(dir, 'elsewhere')
    await mkdir(join(applications, APPLICATIONS_SUBDIR), { recursive: true })
    await mkdir(elsewhere)
    await symlink(elsewhere, join(applications, APPLICATIONS_SUBDIR, 'ws'))
    const apps = createPublishedApps({ applicationsDir: applications, command: ['/usr/bin/branchcast'] }, { logger })
    await rejects(apps.syncPublishedApps('ws', [{ name: 'A', command: 'a' }]), { message: /not a directory of ours/ })
    assert.equal(await readdir(elsewhere), [])
    for (const bad of ['../x', '..', '.', 'a/b', '', '-x', 'x\ny']) await rejects(apps.syncPublishedApps(bad, []), { name: 'TypeError' })
  })
})

test('an entry names the data directory absolutely: a menu launches it from the home directory', async () => {
  const dir = await makeTmpDir('branchcast-desktop-rel-')
  try {
    const apps = createPublishedApps({ applicationsDir: join(dir, 'applications'), command: ['/usr/bin/branchcast'], dataDir: '.data/node' }, { logger })
    await apps.syncPublishedApps('desk', [{ name: 'Notes', command: 'notes.exe' }])
    const [file] = await apps.list('desk')
    const exec = /^Exec=(.*)$/m.exec(await readFile(join(apps.folder('desk'), file!), 'utf8'))?.[1] ?? ''
    assert.ok(exec.includes(` --data ${join(process.cwd(), '.data/node')} `), exec)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
