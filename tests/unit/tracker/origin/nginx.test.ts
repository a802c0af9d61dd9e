import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { renderNginxConfig, renderNginxServerBlock } from '../../../../tracker/origin/nginx.ts'

const test = suite('origin: nginx config rendering')
const init = { dataDir: '/srv/branchcast', port: 8480, secret: 'AbCdEfGhIjKlMnOpQrStUv_-0123456789' }

test('serves <dataDir>/store, signs expiry + client + image with the secret, caches immutably', () => {
  const text = renderNginxServerBlock(init)
  assert.match(text, 'root /srv/branchcast/store;')
  assert.match(text, 'listen 8480;')
  assert.match(text, 'secure_link $arg_s,$arg_e;')
  assert.match(text, `secure_link_md5 "$secure_link_expires $arg_c $arg_i ${init.secret}";`)
  assert.match(text, 'if ($secure_link = "") { return 403; }')
  assert.match(text, 'if ($secure_link = "0") { return 410; }')
  assert.match(text, 'add_header Cache-Control "public, max-age=31536000, immutable";')
  // only the chunk layout, directory = first two hex digits of the id
  assert.match(text, 'location ~ "^/chunks/([0-9a-f]{2})/\\1[0-9a-f]{62}$"')
  assert.match(text, 'location / { return 404; }')
})

test('listen address forms', () => {
  assert.match(renderNginxServerBlock({ ...init, host: '127.0.0.1' }), 'listen 127.0.0.1:8480;')
  assert.match(renderNginxServerBlock({ ...init, host: '::1' }), 'listen [::1]:8480;')
})

test('the standalone form wraps the server block and keeps its files under the prefix', () => {
  const text = renderNginxConfig({ ...init, prefix: '/run/bc-origin' })
  assert.match(text, 'pid /run/bc-origin/nginx.pid;')
  assert.match(text, 'error_log /run/bc-origin/error.log warn;')
  assert.match(text, 'client_body_temp_path /run/bc-origin/tmp/body;')
  assert.match(text, /http \{[\s\S]*server \{[\s\S]*\}\s*\}\s*$/)
})

test('values that could break out of the config are refused', () => {
  for (const bad of [
    { ...init, secret: 'short' },
    { ...init, secret: 'abcdefghijklmnopqrstuvwxyz"; return 200; #' },
    { ...init, dataDir: '/srv/a b' },
    { ...init, dataDir: '/srv/x;}' },
    { ...init, host: '1.2.3.4; include /etc/passwd' },
    { ...init, serverName: 'a{' },
    { ...init, port: 0 },
    { ...init, port: 70000 }
  ]) {
    assert.throws(() => renderNginxServerBlock(bad), TypeError, JSON.stringify(bad))
  }
  assert.throws(() => renderNginxConfig({ ...init, prefix: '/tmp/x y' }), TypeError)
})

test.run()
