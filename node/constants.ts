/**
 * The node's limits and defaults, each with why. Listed for operators in node/README.md.
 */

/**
 * Chunks asked of one peer at once (~4 MiB at ~64 KiB chunks): hides a LAN round trip, and
 * lets requests go in batches of PEER_BATCH_CHUNKS on few streams — each stream opened
 * costs a protocol negotiation (bench/pull-cpu: 16 here and per batch cost ~2 ms/MiB more).
 */
export const DEFAULT_MAX_INFLIGHT_PER_PEER = 64
/** Chunks asked of the origin at once before its health says otherwise. */
export const DEFAULT_MAX_INFLIGHT_ORIGIN = 8
/**
 * A guest reading the image as it arrives (instant start) waits for each chunk it misses.
 * Its chunks may go to the origin this many past the usual limit, so a read does not wait
 * for one of the pull's requests to end before its own goes out.
 */
export const ORIGIN_URGENT_EXTRA = 4
/** A chunk request not answered in this time goes elsewhere. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000
/** The swarm made no progress for this long: chunks nobody holds come from the origin. */
export const DEFAULT_STALL_MS = 5_000
/** Below this many missing chunks, each in-flight chunk is also asked of a second holder. */
export const DEFAULT_END_GAME_CHUNKS = 32
/** An origin answer slower than this counts as a sign of trouble. */
export const DEFAULT_ORIGIN_SLOW_MS = 10_000
/**
 * `peers-slow` by rate: the origin takes chunks peers hold only when the peers' projected
 * completion (bytes left / their observed rate) is more than ENTER × the origin's (bytes
 * left / its rate) and would finish at least MIN_GAIN sooner; it stops once the peers are
 * back within EXIT ×. The gap between 2 and 1.25 is the hysteresis: a LAN peer a little
 * slower for a moment does not send the branch to its WAN link and back.
 */
export const PEERS_SLOW_ENTER_RATIO = 2
export const PEERS_SLOW_EXIT_RATIO = 1.25
export const PEERS_SLOW_MIN_GAIN_MS = 5_000
/** Rates follow the last few seconds (half-life), and need this much busy time before they count. */
export const RATE_HALF_LIFE_MS = 3_000
export const RATE_MIN_OBSERVED_MS = 2_000
/** Back-off after origin errors: doubling from the minimum to the maximum. */
export const ORIGIN_BACKOFF_MIN_MS = 250
export const ORIGIN_BACKOFF_MAX_MS = 15_000

// --- peer (node/peer/) ---

/** File in the node's data directory holding its libp2p Ed25519 key (protobuf, mode 0600). */
export const PEER_KEY_FILE = 'peer.key'
/**
 * Streams one peer may have in service at once. A puller pipelines many requests on one
 * stream, so two covers a retry or end-game overlap; more would let one desktop take the
 * whole uplink from the rest of the branch.
 */
export const DEFAULT_UPLOAD_SLOTS_PER_PEER = 2
/**
 * Streams in service at once for all peers: bounds the memory and CPU (Noise, SHA-256)
 * a desktop spends on uploads while its user works. A branch of 16 pullers fits.
 */
export const DEFAULT_UPLOAD_SLOTS_TOTAL = 16
/** Upload bucket depth when a rate is set: one large chunk, so short bursts are not cut. */
export const DEFAULT_UPLOAD_BURST_BYTES = 4 * 1024 * 1024
/** Inbound chunk streams libp2p accepts before resetting: above the slots, so the extra ones hear 'busy'. */
export const MAX_INBOUND_CHUNK_STREAMS = 64
/** Outbound chunk streams a node opens at once (one per peer it pulls from, plus end game). */
export const MAX_OUTBOUND_CHUNK_STREAMS = 64
/** A stream that sends no request within this time is dropped and its slot freed. */
export const CHUNK_STREAM_IDLE_MS = 30_000
/** Chunk ids one fetchChunksFromPeer call may ask for (pipelined as MAX_IDS_PER_REQUEST batches). */
export const MAX_IDS_PER_FETCH = 4096
/**
 * A fetch asks for its ids in requests of this many chunks, with at most
 * FETCH_REQUESTS_AHEAD of them unanswered on a stream: what a peer sends ahead of what the
 * fetcher has read stays ~1 MiB per stream. Everything unread waits in the fetcher's stream
 * queue; waiting there longer than a couple of scavenges (a few ms at LAN rates) moved the
 * buffers to V8's old space, where they stayed as garbage until a full collection — most
 * of a pulling daemon's peak RSS. A LAN's bandwidth × delay is tens of KiB.
 */
export const FETCH_REQUEST_CHUNKS = 8
export const FETCH_REQUESTS_AHEAD = 2
/** A peer banned for a bad chunk stays banned this long (the rest of a swarm's pull). */
export const DEFAULT_PEER_BAN_MS = 60 * 60_000

// --- events (node/events/) ---

/** First retry after a failed event post; doubles per failure (±25 % jitter so a branch does not retry in step). */
export const EVENT_RETRY_MIN_MS = 1_000
/** Longest wait between event posts while the tracker is unreachable: reports arrive within minutes of it coming back. */
export const EVENT_RETRY_MAX_MS = 5 * 60_000

/** While pulling, announce this often: peers learn what we hold from the tracker's answers. */
export const PULL_ANNOUNCE_INTERVAL_MS = 1_000
/** Chunks per request on one peer stream (≤ MAX_IDS_PER_REQUEST of the protocol); two streams keep the pipe full. */
export const PEER_BATCH_CHUNKS = 32
/** After the last DONE, the serving peer has this long to close its side before the stream is reset. */
export const CHUNK_STREAM_CLOSE_GRACE_MS = 10_000

// --- control API (node/control/) ---

/** Largest control request body: a pull request is a few dozen bytes. */
export const CONTROL_MAX_BODY_BYTES = 16 * 1024
/** A path in a control request (a bundle to write or import): PATH_MAX on Linux. */
export const CONTROL_MAX_PATH_CHARS = 4096
/** At most one progress line per phase in this time: a terminal redraws ~5 times a second. */
export const CONTROL_PROGRESS_INTERVAL_MS = 200
/** A peer that refused as busy is left alone this long before it is asked again. */
export const PEER_BUSY_BACKOFF_MS = 200
/** Streams a puller keeps open to one peer; below the server's DEFAULT_UPLOAD_SLOTS_PER_PEER. */
export const PEER_STREAMS_PER_PEER = 2
/** Slow answers a chunk may get from peers before the origin takes it (reason peers-slow). */
export const MAX_TIMEOUTS_PER_CHUNK = 3
/**
 * Chunks a serving stream reads from disk ahead of what it sends, from a source that hands
 * chunks over one by one (a chunk store); one that places them (a node's images) reads
 * the next group while one goes out. Hides the thread pool's latency on a busy machine;
 * bounded so one stream holds at most this many chunks in memory.
 */
export const UPLOAD_READ_AHEAD_CHUNKS = 4
/**
 * Chunks already read go out together up to this many bytes per write: each write costs a
 * yamux frame, a window update back and records of its own in the encrypted transport,
 * which adds up for chunks of a few KiB. With 64 KiB, one 64 KiB chunk made a full Noise
 * message and a runt of a few dozen bytes (sealed apart, two socket writes each); 256 KiB
 * makes four full ones and one runt. A stream holds at most this plus its read-ahead.
 */
export const UPLOAD_WRITE_BYTES = 256 * 1024
/**
 * Tries per chunk-list part from the origin (backing off 250 ms, 500 ms, … between them):
 * the list has no other source, so a few 503s or resets must not fail the pull (~8 s in all).
 */
export const LIST_PART_ORIGIN_ATTEMPTS = 6

// --- seeding (node/daemon/seeder.ts) ---

/** Re-announce of held images when the tracker names no interval: well inside any sane membership TTL. */
export const SEED_ANNOUNCE_DEFAULT_MS = 60_000
/** Floor on the tracker's requested interval, so a misconfigured tracker cannot make every desktop announce in a loop. */
export const SEED_ANNOUNCE_MIN_MS = 5_000
/** Leaving every swarm on stop is bounded: a node whose tracker is gone still stops promptly (its memberships then lapse by TTL). */
export const LEAVE_ON_STOP_MS = 3_000
/** Asking the tracker whom an environment token names, at start. */
export const ME_CHECK_TIMEOUT_MS = 10_000
/**
 * A peer we could not reach (dial failed, connection lost) is left out of a pull this long.
 * The tracker lists a killed peer until its announce expires (minutes); every retry fails a
 * batch of chunks over to the origin, so retry rarely, yet soon enough for a restarted peer.
 */
export const PEER_UNREACHABLE_MS = 30_000
/**
 * 'busy' refusals one peer may give for one chunk before it counts as failed for it (each
 * followed by PEER_BUSY_BACKOFF_MS, so ≥ 5 s of refusals): an honest peer frees a slot long
 * before; one busy for ever (or lying about what it holds) must not keep the chunk from the origin.
 */
export const MAX_BUSY_PER_CHUNK = 25

// --- image store (node/image-store/) ---

/**
 * Verified chunks are buffered up to this many bytes and written sorted by offset,
 * adjacent ones in one pwritev: one syscall per few MiB instead of one per chunk, and the
 * buffer bounds what a pull holds in memory (twice this, with one batch being written).
 * 2 MiB rather than 4: each batch is a write arena kept for the pull (image-version.ts),
 * and the write costs per MiB did not differ in bench/pull-cpu.
 */
export const IMAGE_WRITE_BATCH_BYTES = 2 * 1024 * 1024
/** A partly filled write batch waits at most this long: a slow origin's chunks still land. */
export const IMAGE_WRITE_FLUSH_MS = 20
/** Buffers one pwritev takes at most (Linux IOV_MAX is 1024). */
export const IMAGE_WRITE_MAX_IOVECS = 1024
/**
 * Written data is made durable (fdatasync) and the presence bitmap saved after this many
 * bytes or this long, whichever first: a crash loses at most this much verified work,
 * and the bitmap (≤ 128 KiB per 64 GiB image) is rewritten at most once a second.
 */
export const IMAGE_SYNC_BATCH_BYTES = 64 * 1024 * 1024
export const IMAGE_SYNC_INTERVAL_MS = 1_000
/**
 * How much nicer than its start the daemon runs (`cpuNice`; 0 keeps it): below the VMs it
 * starts, which it sets back to normal (daemon/cpu-priority.ts). A lazy boot with a boot
 * profile took 1.11 × a local boot at 10 and 1.23 × at QEMU's priority (bench/RESULTS.md).
 */
export const DEFAULT_CPU_NICE = 10
/** Versions of an image kept on disk (the newest; older ones are the local source of the next). */
export const DEFAULT_KEEP_VERSIONS = 2
/** Reads from an older version for local reuse are coalesced up to this size. */
export const LOCAL_COPY_READ_BYTES = 4 * 1024 * 1024

// --- VM sessions (node/session/) ---

/** A QMP line longer than this closes the monitor: our commands' answers are a few KiB. */
export const MAX_QMP_LINE_BYTES = 1024 * 1024
/**
 * A guest agent line longer than this closes the channel: guest-exec output comes back
 * base64 in one line, and the agent itself caps captured output at 16 MiB.
 */
export const MAX_AGENT_LINE_BYTES = 24 * 1024 * 1024
/** Retry of the monitor's socket while QEMU is still creating it (QMP is up in < 0.5 s). */
export const QMP_CONNECT_RETRY_MS = 10
/** QEMU has this long to answer QMP after it was spawned, loaded machine included. */
export const QMP_READY_TIMEOUT_MS = 15_000
/**
 * How long the KVM probe may take: KVM answers in well under a second where it works; on
 * hosts where /dev/kvm exists but hangs, nothing answers, and the probe gives up to TCG.
 */
export const KVM_PROBE_TIMEOUT_MS = 3_000
/** In `<dataDir>/sessions/`: the last accelerator probe's answer and the host it holds for. */
export const ACCELERATOR_FILE = 'accelerator.json'
/** A guest has this long to power down after an ACPI power-button press before it is forced. */
export const DEFAULT_POWERDOWN_TIMEOUT_MS = 30_000
/**
 * The power button is pressed again this often until the guest agent has answered: a press
 * before the guest's ACPI daemon runs is lost (measured: the tiny guest misses early ones).
 */
export const POWERDOWN_REPEAT_MS = 1_000
/** After `quit`, then after SIGTERM: how long QEMU has to go before the next, harder step. */
export const QEMU_EXIT_WAIT_MS = 3_000
/** guest-exec-status is asked this often while a guest command runs (the agent has no event for it). */
export const GUEST_EXEC_POLL_MS = 50
/**
 * The auto-lock rules (idle, host suspend) are checked this often: after a resume the
 * lock comes within this time. A check reads two clocks, and logind only when a session
 * has an idle lock.
 */
export const AUTO_LOCK_CHECK_MS = 2_000
/**
 * How long QEMU's NBD client holds a guest's reads of a lazy base while it reconnects after
 * the node's socket closed (the daemon restarts): after it they fail, and `rerror=stop`
 * pauses the guest until the node is back and resumes it.
 */
export const NBD_RECONNECT_DELAY_S = 5
/** The wall clock running ahead of the monotonic one by more than this between checks is a host suspend. */
export const SUSPEND_GAP_MS = 10_000
/** `loginctl show-session` has this long to answer (it answers in milliseconds). */
export const LOGIND_QUERY_TIMEOUT_MS = 2_000
/** An app launch that has to start its VM waits this long for the guest agent (a cold boot under TCG). */
export const APP_LAUNCH_TIMEOUT_MS = 180_000
/** Default guest memory and vCPUs when the caller (later: the policy) names none. */
export const DEFAULT_SESSION_MEMORY_MB = 1024
export const DEFAULT_SESSION_CPUS = 1
/** Bounds on what a caller may ask for: a typo must not try to allocate a terabyte. */
export const MAX_SESSION_MEMORY_MB = 256 * 1024
export const MAX_SESSION_CPUS = 64
/** Unix socket paths are at most 107 bytes; longer session directories get their sockets under the temp dir. */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107
/**
 * A lazy boot being recorded asks the guest agent, in the background, whether the guest is
 * up for at most this long (the recording's own window, BOOT_RECORD_WINDOW_MS in
 * node/block, ends it by then anyway).
 */
export const BOOT_AGENT_WAIT_MS = 120_000
