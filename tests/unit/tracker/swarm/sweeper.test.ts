import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../../../../protocol/logger.ts'
import { createSwarmSweeper } from '../../../../tracker/swarm/sweeper.ts'
import type { SwarmSize } from '../../../../tracker/db/store.ts'

test('a sweep expires at the injected time and caches sizes; concurrent sweeps share one run', async () => {
  const calls: number[] = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const sizes: SwarmSize[] = [{ image: 'w', version: 2, members: 3 }]
  const sweeper = createSwarmSweeper({
    store: {
      expireMembers: async (nowMs) => { calls.push(nowMs); await gate; return 1 },
      swarmSizes: async () => sizes
    },
    logger: createLogger({ level: 'silent' }),
    now: () => 42
  }, { intervalMs: 60_000 })
  assert.equal(sweeper.sizes(), [])
  const a = sweeper.sweep()
  const b = sweeper.sweep()
  release()
  await Promise.all([a, b])
  assert.equal(calls, [42], 'one store call for two overlapping sweeps')
  assert.equal(sweeper.sizes(), sizes)
  sweeper.start()
  sweeper.start()
  sweeper.stop()
  sweeper.stop()
  assert.throws(() => createSwarmSweeper({ store: { expireMembers: async () => 0, swarmSizes: async () => [] }, logger: createLogger({ level: 'silent' }), now: Date.now }, { intervalMs: 0 }), TypeError)
})

test.run()
