import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FALLBACK_ICON, appFileStem, escapeValue, execValue, hostIcon, quoteExecArg, renderDesktopEntry } from '../../../../node/desktop/index.ts'

test('Exec arguments: plain ones as they are, reserved characters quoted with " ` $ \\ escaped, % doubled', () => {
  const cases: Array<[string, string]> = [
    ['branchcast', 'branchcast'],
    ['/usr/bin/node', '/usr/bin/node'],
    ['a=b,c.d+e:f@g', 'a=b,c.d+e:f@g'],
    ['', '""'],
    ['two words', '"two words"'],
    ['100%', '100%%'],
    ['%f', '%%f'],
    ['50% off', '"50%% off"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['$HOME', '"\\$HOME"'],
    ['`id`', '"\\`id\\`"'],
    ['a\\b', '"a\\\\b"'],
    ["it's", '"it\'s"'],
    ['a;rm -rf ~', '"a;rm -rf ~"'],
    ['x|y&z>w<v', '"x|y&z>w<v"'],
    ['*?#()', '"*?#()"'],
    ['Übersicht', 'Übersicht']
  ]
  for (const [arg, want] of cases) assert.is(quoteExecArg(arg), want, arg)
})

test('the Exec value applies the string escapes after quoting: a literal backslash is four', () => {
  assert.is(execValue(['prog', 'a\\b']), 'prog "a\\\\\\\\b"')
  assert.is(execValue(['prog', '--', 'ws', 'My App']), 'prog -- ws "My App"')
  assert.throws(() => execValue([]), TypeError)
  for (const bad of ['a\nb', 'a\rb', 'a\tb', 'a\x00b', 'a\x7fb']) assert.throws(() => quoteExecArg(bad), TypeError, JSON.stringify(bad))
})

test('values: backslashes doubled, a leading space kept, control characters refused', () => {
  assert.is(escapeValue('C:\\Apps'), 'C:\\\\Apps')
  assert.is(escapeValue(' padded'), '\\spadded')
  assert.is(escapeValue('a = b; c'), 'a = b; c')
  assert.throws(() => escapeValue('line\nbreak'), TypeError)
})

test('file stems: letters, digits and dashes, a hash of the exact name, never a path', () => {
  const names = ['Word', 'word', 'WORD', '../Word', '../../etc/passwd', '/', '.', '..', '', 'a/b', 'Ünïcödé', '日本語', 'x'.repeat(100), '-rf', 'con', 'A B\tC']
  const stems = names.map(appFileStem)
  assert.is(new Set(stems).size, names.length, 'different names, different files')
  for (const [i, s] of stems.entries()) {
    assert.match(s, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${JSON.stringify(names[i])} → ${s}`)
    assert.ok(s.length <= 40 + 1 + 12 + 4, s)
  }
  assert.is(appFileStem('Word'), appFileStem('Word'), 'stable')
  assert.match(appFileStem('Word 2016'), /^word-2016-[0-9a-f]{12}$/)
  assert.match(appFileStem('日本語'), /^app-[0-9a-f]{12}$/)
})

test('icons: a theme name as is, a PNG or SVG data URL as a file, anything else the fallback', () => {
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(16)])
  const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
  assert.equal(hostIcon('accessories-calculator'), { kind: 'theme', name: 'accessories-calculator' })
  assert.equal(hostIcon(`data:image/png;base64,${png.toString('base64')}`), { kind: 'file', ext: 'png', bytes: png })
  assert.equal(hostIcon(`data:image/svg+xml;base64,${svg.toString('base64')}`), { kind: 'file', ext: 'svg', bytes: svg })
  const fallback = { kind: 'theme', name: FALLBACK_ICON }
  for (const bad of [
    undefined, 'C:\\Apps\\ledger.ico', 'word.ico', 'x.png', '/etc/passwd', '../../x', 'https://example.org/i.png', '~/.ssh/id_rsa', '-x', '',
    `data:image/png;base64,${svg.toString('base64')}`, `data:image/svg+xml;base64,${png.toString('base64')}`,
    `data:image/gif;base64,${png.toString('base64')}`, 'data:image/png;base64,', 'data:image/png,raw',
    `data:image/png;base64,${Buffer.concat([png, Buffer.alloc(17 * 1024)]).toString('base64')}`
  ]) assert.equal(hostIcon(bad), fallback, String(bad).slice(0, 60))
})

test('an entry names its image and app, and runs the command it is given', () => {
  const text = renderDesktopEntry({ name: 'Ledger \\ 2', exec: ['/bin/branchcast', 'app', '--', 'ws', 'Ledger \\ 2'], icon: 'x-office', image: 'ws', app: 'Ledger \\ 2' })
  assert.match(text, /^\[Desktop Entry\]\nType=Application\n/)
  assert.match(text, /\nName=Ledger \\\\ 2\n/)
  assert.match(text, /\nExec=\/bin\/branchcast app -- ws "Ledger \\\\\\\\ 2"\n/)
  assert.match(text, /\nX-Branchcast-Image=ws\n/)
})

test.run()
