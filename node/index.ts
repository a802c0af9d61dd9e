/**
 * The node component's front door: the client agent (daemon, peer, puller, event
 * reporter, control API) and what its CLI and the bin-level compositions (demo,
 * self-test, benches) need. Other components import from here, never from the files
 * behind it. (The `pull` command imports `control/client.ts` alone to start fast.)
 */
export { DEFAULT_LISTEN, DEFAULT_NODE_DATA_DIR, DEFAULT_SITE, NODE_CONFIG_FILE, NodeConfigError, NodeConfigFileSchema, configFilePath, loadNodeConfig, updateNodeConfigFile } from './config.ts'
export type { NodeConfig, NodeConfigFile, NodeConfigSources } from './config.ts'
export { READY_LINE_RE, listReadyImages, readyLine, startNode } from './daemon/index.ts'
export type { NodeDaemonOptions, RunningNode } from './daemon/index.ts'
export { ControlError, controlFilePath, createControlClient, createControlServer, readControlFile } from './control/index.ts'
export type { ControlClient, ControlComponents, ControlFile, ControlServer, ControlServerInit, NodeStatus, PullStreamLine, PullStreamOptions, ReadyImage } from './control/index.ts'
export { createEventReporter } from './events/index.ts'
export type { EventReporter, EventReporterComponents, EventReporterInit } from './events/index.ts'
export { PeerBans, PeerRefusedError, PeerUnavailableError, banReasonFor, createChunkServer, createPeerNode, createTokenBucket, fetchChunksFromPeer, loadOrCreatePeerKey } from './peer/index.ts'
export type { Ban, BanReason, ChunkServer, ChunkServerComponents, ChunkServerInit, ChunkServerStats, PeerNode, PeerNodeComponents, PeerNodeInit } from './peer/index.ts'
export { createPuller, imagePaths } from './pull/index.ts'
export type { EventSink, PullComponents, PullOptions, PullProgress, PullReport, Puller } from './pull/index.ts'
export { SeedIndexFileError, createSeedIndex } from './seeds/index.ts'
export type { SeedIndex, SeedIndexComponents, SeedIndexInit, SeedIndexStatus } from './seeds/index.ts'
export { ORIGIN_REASONS, Scheduler } from './scheduler.ts'
export type { FailureKind, OriginReason } from './scheduler.ts'
export { createTrackerClient } from './tracker-client.ts'
export type { TrackerClient } from './tracker-client.ts'
export { enroll, loadTrust, trustPath } from './trust.ts'
export type { Trust } from './trust.ts'
