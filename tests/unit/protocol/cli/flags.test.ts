import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defineCommand, integer, readAction, readFlag } from '../../../../protocol/cli/flags.ts'
import type { CommandIo } from '../../../../protocol/cli/flags.ts'
import { UsageError, formatErrorLine } from '../../../../protocol/cli/errors.ts'
import { parseBytes, parseDurationMs } from '../../../../protocol/units.ts'

const USAGE = `Usage: branchcast publish FILE --image NAME [options]

Uploads FILE.

Options:
  --image NAME        the image
  --publish           publish at once
  --group G           repeatable`

const publish = defineCommand({ name: 'publish', usage: USAGE, flags: { image: 'string', publish: 'boolean', group: 'string[]' }, positionals: true, json: true, api: true })
const gc = defineCommand({ name: 'gc', usage: 'Usage: branchcast gc\n\nCollects garbage.' })

function io (env: Record<string, string | undefined> = {}): CommandIo & { out: string[] } {
  const out: string[] = []
  return { out, env, stdout: { write: (s: string) => out.push(s) } }
}

function usageError (fn: () => unknown): string {
  try { fn() } catch (err) {
    assert.instance(err, UsageError)
    assert.instance(err, TypeError, 'a caller mistake is a TypeError')
    assert.is((err as UsageError).code, 'ERR_USAGE')
    const line = formatErrorLine('publish', err)
    assert.not.match(line, /\n/, 'one line')
    return line
  }
  assert.unreachable('expected a UsageError')
  return ''
}

test('flags, positionals and the shared flags are read', () => {
  const cli = publish.parse(['disk.img', '--image', 'win', '--publish', '--group', 'a', '--group=b', '--json', '--tracker', 'http://t:1', '--token', 'bct_x'], io())!
  assert.equal(cli.values, { image: 'win', publish: true, group: ['a', 'b'] }, 'the command\'s own flags; the shared ones are read by the toolkit')
  assert.equal(cli.positionals, ['disk.img'])
  assert.is(cli.json, true)
  assert.is(cli.client().baseUrl, 'http://t:1')
})

test('--tracker and --token fall back to BRANCHCAST_TRACKER / BRANCHCAST_TOKEN, flags first; no token is a TypeError', () => {
  assert.is(publish.parse([], io({ BRANCHCAST_TRACKER: 'http://env:2', BRANCHCAST_TOKEN: 't' }))!.client().baseUrl, 'http://env:2')
  assert.is(publish.parse(['--tracker', 'http://flag:3'], io({ BRANCHCAST_TRACKER: 'http://env:2', BRANCHCAST_TOKEN: 't' }))!.client().baseUrl, 'http://flag:3')
  assert.is(publish.parse([], io({ BRANCHCAST_TOKEN: 't' }))!.client().baseUrl, 'http://127.0.0.1:8470')
  assert.throws(() => publish.parse([], io({}))!.client(), (err: Error) => err instanceof TypeError && /--token/.test(err.message))
})

test('--help prints the usage with the shared flags\' lines and returns nothing to run', () => {
  for (const argv of [['--help'], ['-h'], ['disk.img', '--image', 'x', '-h']]) {
    const o = io()
    assert.is(publish.parse(argv, o), undefined, argv.join(' '))
    assert.is(o.out.join(''), publish.usage + '\n')
  }
  for (const flag of ['--image NAME', '--tracker URL', '--token T', '--json', '-h, --help']) assert.ok(publish.usage.includes(`  ${flag}`), flag)
  assert.match(gc.usage, /Collects garbage\.\n\nOptions:\n {2}-h, --help/)
  assert.not.match(gc.usage, /--json|--tracker/, 'only the shared flags a command takes')
  for (const line of publish.usage.split('\n')) assert.ok(line.length <= 80, line)
})

test('a mistyped command line is one clear line naming the flag and the help', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--imgae', 'x'], /unknown option --imgae \(did you mean --image\?\)/],
    [['--jsn'], /unknown option --jsn \(did you mean --json\?\)/],
    [['--frobnicate'], /unknown option --frobnicate; see/],
    [['-x'], /unknown option -x;/],
    [['--image'], /--image needs a value;/],
    [['--image', '--publish'], /--image needs a value \(one starting with "-" is written --image=--publish\)/],
    [['--publish=yes'], /--publish takes no value/],
    [['--json=1'], /--json takes no value/]
  ]
  for (const [argv, want] of cases) {
    const line = usageError(() => publish.parse(argv, io()))
    assert.match(line, want, argv.join(' '))
    assert.match(line, /^branchcast publish: .*see "branchcast publish --help"$/, argv.join(' '))
  }
  assert.match(usageError(() => gc.parse(['now'], io())), /unexpected argument "now"/)
  assert.match(usageError(() => gc.parse(['--json'], io())), /unknown option --json/, 'no --json where the command has none')
})

test('a flag missing from the usage text, or shadowing a shared one, fails when the command is defined', () => {
  assert.throws(() => defineCommand({ name: 'x', usage: 'Usage: branchcast x', flags: { secret: 'boolean' } }), /--secret is not in the usage text/)
  assert.throws(() => defineCommand({ name: 'x', usage: 'Usage: branchcast x --images', flags: { image: 'string' } }), /--image is not in the usage text/)
  assert.throws(() => defineCommand({ name: 'x', usage: '--json', flags: { json: 'boolean' }, json: true }), /--json is a shared flag/)
  assert.throws(() => defineCommand({ name: 'x', usage: '--token', flags: { token: 'string' }, api: true }), /--token is a shared flag/)
  assert.ok(defineCommand({ name: 'x', usage: '--token T', flags: { token: 'string' } }), 'a command without api may mean its own --token')
})

test('print: one JSON line with --json, the text otherwise', () => {
  const o1 = io()
  publish.parse(['--json'], o1)!.print({ a: 1 }, () => { assert.unreachable('text not built with --json'); return '' })
  assert.equal(o1.out, ['{"a":1}\n'])
  const o2 = io()
  publish.parse([], o2)!.print({ a: 1 }, 'a is 1')
  assert.equal(o2.out, ['a is 1\n'])
})

test('readFlag names the flag in the error and lets undefined through', () => {
  assert.is(readFlag('--size', '64MiB', parseBytes), 64 * 1024 ** 2)
  assert.is(readFlag('--size', undefined, parseBytes), undefined)
  const cases: Array<[string, string, (t: string) => unknown, RegExp]> = [
    ['--size', 'lots', parseBytes, /^--size: not a size/],
    ['--since', '1y', parseDurationMs, /^--since: not a duration/],
    ['--nodes', '65', integer(1, 64), /^--nodes: not an integer from 1 to 64: "65"$/],
    ['--port', '0', integer(1), /^--port: not an integer >= 1: "0"$/],
    ['--priority', '1.5', integer(), /^--priority: not an integer: "1.5"$/]
  ]
  for (const [flag, text, parse, want] of cases) {
    assert.throws(() => readFlag(flag, text, parse), (err: Error) => err instanceof UsageError && want.test(err.message), `${flag} ${text}`)
  }
})

test('integer: whole numbers within the range, signed, nothing else', () => {
  const any = integer()
  for (const [text, n] of [['0', 0], ['-3', -3], ['42', 42], [' 7 ', 7], ['9007199254740991', Number.MAX_SAFE_INTEGER]] as const) assert.is(any(text), n, text)
  for (const text of ['', '1.5', '1e3', '0x10', 'ten', '99999999999999999', '--1']) assert.throws(() => any(text), TypeError, text)
  const port = integer(1, 65535)
  assert.is(port('65535'), 65535)
  for (const text of ['0', '65536', '-1']) assert.throws(() => port(text), TypeError, text)
})

test('readAction: the action and its name, or one usage line naming the choices', () => {
  const actions = ['list', 'show', 'create']
  assert.equal(readAction(['show', 'win11', 'x'], actions, 'an image NAME'), { action: 'show', name: 'win11', rest: ['x'] })
  assert.equal(readAction(['list'], actions, 'an image NAME'), { action: 'list', name: undefined, rest: [] })
  for (const [argv, message] of [
    [[], 'needs a command (list, show, create)'],
    [['delete', 'x'], 'unknown command "delete" (list, show, create)'],
    [['show'], 'show needs an image NAME'],
    [['create', ''], 'create needs an image NAME']
  ] as const) {
    assert.throws(() => readAction(argv, actions, 'an image NAME'), (err: Error) => err instanceof UsageError && err.message === message, message)
  }
})

test.run()
