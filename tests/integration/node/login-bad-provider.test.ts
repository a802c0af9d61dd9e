// `branchcast login` against a real but unhelpful provider on port 0: it answers the
// device grant's polls with authorization_pending, slow_down and finally expired_token, or
// with access_denied. The login backs off on slow_down, ends with its own one-line error,
// and stores nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rm } from 'node:fs/promises'
import { deviceLogin, readLoginFile } from '../../../node/auth/index.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { rejects } from '../../helpers/rejects.ts'

interface BadProvider { url: string, polls: number[], close: () => Promise<void> }

/** A tracker's /auth/config and an issuer whose token endpoint answers `answers` in turn. */
async function startBadProvider (answers: string[]): Promise<BadProvider> {
  const polls: number[] = []
  let base = ''
  const server: Server = createServer((req, res) => {
    const json = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }); res.end(JSON.stringify(body)) }
    req.resume()
    req.on('end', () => {
      if (req.url === '/auth/config') return json(200, { issuer: `${base}/idp`, audience: base, cliClientId: 'cli', consoleClientId: 'console', embedded: false })
      if (req.url === '/idp/.well-known/openid-configuration') return json(200, { issuer: `${base}/idp`, token_endpoint: `${base}/idp/token`, device_authorization_endpoint: `${base}/idp/device/auth` })
      if (req.url === '/idp/device/auth') return json(200, { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: `${base}/idp/device`, expires_in: 60, interval: 1 })
      if (req.url === '/idp/token') {
        polls.push(Date.now())
        return json(400, { error: answers[Math.min(polls.length - 1, answers.length - 1)] })
      }
      json(404, {})
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url: base, polls, close: async () => { await new Promise((resolve) => server.close(resolve)) } }
}

async function attempt (answers: string[]): Promise<{ err: Error & { code?: string }, polls: number[], stored: unknown }> {
  const provider = await startBadProvider(answers)
  const dataDir = await makeTmpDir('branchcast-login-bad-')
  try {
    let prompted = ''
    const err = await rejects(deviceLogin({ tracker: provider.url, dataDir, prompt: (p) => { prompted = p.userCode } }), {})
    assert.is(prompted, 'ABCD-EFGH')
    return { err, polls: provider.polls, stored: await readLoginFile(dataDir) }
  } finally {
    await provider.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

test('pending, slow_down, then expired_token: backs off after slow_down, ERR_LOGIN_EXPIRED, nothing stored', async () => {
  const { err, polls, stored } = await attempt(['authorization_pending', 'slow_down', 'expired_token'])
  assert.is(err.code, 'ERR_LOGIN_EXPIRED')
  assert.match(err.message, /run "branchcast login" again/)
  assert.is(polls.length, 3)
  assert.ok(polls[2]! - polls[1]! >= 5000, `slow_down adds 5 s to the interval (waited ${polls[2]! - polls[1]!} ms)`)
  assert.is(stored, undefined)
})

test('access_denied: ERR_LOGIN_DENIED', async () => {
  const { err, stored } = await attempt(['access_denied'])
  assert.is(err.code, 'ERR_LOGIN_DENIED')
  assert.is(stored, undefined)
})

test('a tracker without OpenID Connect login: ERR_LOGIN_FAILED naming what to do instead', async () => {
  const server = createServer((_req, res) => { res.writeHead(404); res.end() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const dataDir = await makeTmpDir('branchcast-login-bad-')
  try {
    const err = await rejects(deviceLogin({ tracker: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dataDir, prompt: () => {} }), { code: 'ERR_LOGIN_FAILED' })
    assert.match(err.message, /branchcast enroll --token/)
  } finally {
    await new Promise((resolve) => server.close(resolve))
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
