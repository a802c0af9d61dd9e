import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EXIT_FAILURE, UsageError, errorJson, formatErrorLine, reportError } from '../../../../protocol/cli/errors.ts'

class CodedError extends Error {
  readonly code: string
  constructor (code: string, message: string) { super(message); this.code = code }
}

test('one line: "branchcast <command>: [CODE: ]message"', () => {
  const cases: Array<[unknown, string]> = [
    [new CodedError('ERR_NODE_NOT_RUNNING', 'no running node found'), 'branchcast pull: ERR_NODE_NOT_RUNNING: no running node found'],
    [new CodedError('ERR_CONFLICT', 'POST /api/v1/policies: 409 ERR_CONFLICT: exists'), 'branchcast pull: POST /api/v1/policies: 409 ERR_CONFLICT: exists'],
    [new UsageError('--size: not a size'), 'branchcast pull: --size: not a size'],
    [new TypeError('no API token: pass --token'), 'branchcast pull: no API token: pass --token'],
    [Object.assign(new TypeError('bad'), { code: 'ERR_INVALID_ARG_TYPE' }), 'branchcast pull: bad'],
    [new Error('first\n  second\nthird'), 'branchcast pull: first second third'],
    [new Error('plain'), 'branchcast pull: plain'],
    ['a string', 'branchcast pull: a string']
  ]
  for (const [err, want] of cases) assert.is(formatErrorLine('pull', err), want)
  assert.is(formatErrorLine('', new TypeError('unknown command "pul"')), 'branchcast: unknown command "pul"', 'no command named')
})

test('reportError writes the line, the stack only with BRANCHCAST_DEBUG=1, and returns exit status 1', () => {
  for (const [debug, lines] of [[undefined, 1], ['1', 2]] as const) {
    const out: string[] = []
    const code = reportError('gc', new Error('boom'), { stderr: { write: (s) => out.push(s) }, env: { BRANCHCAST_DEBUG: debug } })
    assert.is(code, EXIT_FAILURE)
    assert.is(EXIT_FAILURE, 1)
    assert.is(out.length, lines)
    assert.is(out[0], 'branchcast gc: boom\n')
    if (lines === 2) assert.match(out[1]!, /^Error: boom\n\s+at /)
  }
})

test('errorJson: the code, or the command\'s fallback, and the message', () => {
  assert.equal(errorJson(new CodedError('ERR_X', 'm'), 'ERR_PULL_FAILED'), { code: 'ERR_X', message: 'm' })
  assert.equal(errorJson(new Error('m'), 'ERR_PULL_FAILED'), { code: 'ERR_PULL_FAILED', message: 'm' })
})

test.run()
