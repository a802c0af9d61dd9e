import * as assert from 'uvu/assert'

/** uvu's `assert.throws` is synchronous; this is its async twin, checking the error `code`. */
export async function rejects (promise: Promise<unknown>, expected: { code?: string, name?: string, message?: RegExp }): Promise<Error & { code?: string }> {
  let caught: unknown
  try {
    await promise
  } catch (err) {
    caught = err
  }
  if (caught === undefined) assert.unreachable('expected a rejection')
  const err = caught as Error & { code?: string }
  if (expected.code !== undefined) assert.is(err.code, expected.code, `code: ${String(err.code)} (${err.message})`)
  if (expected.name !== undefined) assert.is(err.name, expected.name)
  if (expected.message !== undefined) assert.match(err.message, expected.message)
  return err
}

/** The sync form for pure functions, also checking `code`. */
export function throwsCode (fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (err) {
    assert.is((err as { code?: string }).code, code, `code: ${String((err as { code?: string }).code)} (${(err as Error).message})`)
    return
  }
  assert.unreachable(`expected ${code}`)
}
