// `npm run bench -- p2p` (bench/p2p/p2p.ts). Both processes take the node daemon's V8
// settings before anything loads, as `branchcast node` does (node/daemon/v8-flags.ts);
// P2P_BENCH_V8=default leaves V8's defaults, to compare.
import { applyDaemonV8Flags } from '../../node/daemon/v8-flags.ts'

if (process.env.P2P_BENCH_V8 !== 'default') applyDaemonV8Flags()
await import('./p2p.ts')
