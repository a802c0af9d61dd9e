#!/usr/bin/env node
// The one CLI entry. Each subcommand lives with its component (tracker/cli, node/cli) and
// is imported only when it runs, so `--help` stays instant. Whatever a command throws
// ends as one line on stderr and exit status 1 (protocol/cli/errors.ts).

interface Command {
  summary: string
  load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }>
}

const COMMANDS: Record<string, Command> = {
  tracker: { summary: 'run the tracker (management server + built-in origin)', load: async () => await import('../tracker/cli/tracker.ts') },
  origin: { summary: '"origin nginx-config": an nginx server block serving the chunk store', load: async () => await import('../tracker/cli/origin.ts') },
  token: { summary: 'issue, list and revoke API tokens (on the tracker host or --tracker)', load: async () => await import('../tracker/cli/token.ts') },
  policies: { summary: 'create, update, list, show and delete usage policies', load: async () => await import('../tracker/cli/policies.ts') },
  assign: { summary: 'assign a policy to a user or group (--list to see assignments)', load: async () => await import('../tracker/cli/assign.ts') },
  unassign: { summary: 'take a policy away from a user or group', load: async () => ({ main: (await import('../tracker/cli/assign.ts')).unassignMain }) },
  images: { summary: 'list, show and create images', load: async () => await import('../tracker/cli/images.ts') },
  publish: { summary: 'stream a disk image to the tracker as a new version', load: async () => await import('../tracker/cli/publish.ts') },
  versions: { summary: 'list, publish, retire and roll back an image\'s versions', load: async () => await import('../tracker/cli/versions.ts') },
  profile: { summary: 'a version\'s boot profile and recorded boots (instant start)', load: async () => await import('../tracker/cli/profile.ts') },
  gc: { summary: 'delete chunk files no live version references', load: async () => await import('../tracker/cli/gc.ts') },
  events: { summary: 'list the events nodes reported (--type, --since 1h, …)', load: async () => await import('../tracker/cli/events.ts') },
  clients: { summary: 'list the nodes the tracker knows, or show one', load: async () => await import('../tracker/cli/clients.ts') },
  reports: { summary: 'status, activity, errors, offload, deployment (--csv, --json)', load: async () => await import('../tracker/cli/reports.ts') },
  // the daemon's allocator, compile cache and V8 settings go in before its modules load
  // (node/daemon/malloc-tuning.ts, compile-cache.ts, v8-flags.ts say why)
  node: {
    summary: 'run the node: peer, chunk cache, event reporter, control API',
    load: async () => {
      (await import('../node/daemon/malloc-tuning.ts')).execWithDaemonEnvironment();
      (await import('../node/daemon/v8-flags.ts')).applyDaemonV8Flags()
      const mod = await import('../node/cli/node.ts');
      (await import('../node/daemon/compile-cache.ts')).execAgainAfterColdStart()
      return mod
    }
  },
  login: { summary: 'sign this desk in with the tracker\'s OpenID provider (device code)', load: async () => await import('../node/cli/login.ts') },
  logout: { summary: 'revoke and delete the login "branchcast login" stored', load: async () => ({ main: (await import('../node/cli/login.ts')).logoutMain }) },
  enroll: { summary: 'pin a tracker\'s keys and save its URL and token for the node', load: async () => await import('../node/cli/enroll.ts') },
  pull: { summary: 'pull an image through the running node (peers first)', load: async () => await import('../node/cli/pull.ts') },
  bundle: { summary: 'write a held version to a file for offline media (USB, share)', load: async () => await import('../node/cli/bundle.ts') },
  import: { summary: 'make the version in a bundle ready (bad chunks refused, refetched)', load: async () => ({ main: (await import('../node/cli/bundle.ts')).importMain }) },
  start: { summary: 'start a VM of an image the node holds (per-user overlay)', load: async () => ({ main: (await import('../node/cli/session.ts')).startMain }) },
  stop: { summary: 'power a VM down (forced after a timeout)', load: async () => ({ main: (await import('../node/cli/session.ts')).stopMain }) },
  restart: { summary: 'stop and start a VM again', load: async () => ({ main: (await import('../node/cli/session.ts')).restartMain }) },
  lock: { summary: 'pause a VM', load: async () => ({ main: (await import('../node/cli/session.ts')).lockMain }) },
  unlock: { summary: 'resume a locked VM', load: async () => ({ main: (await import('../node/cli/session.ts')).unlockMain }) },
  app: { summary: 'run a published app in its workspace VM (starting the VM if needed)', load: async () => ({ main: (await import('../node/cli/session.ts')).appMain }) },
  status: { summary: 'show VM sessions (one image, or all)', load: async () => ({ main: (await import('../node/cli/session.ts')).statusMain }) },
  desk: { summary: "this desk's workspaces: versions, state, next action, why", load: async () => ({ main: (await import('../node/cli/node.ts')).workspacesMain }) },
  seeds: { summary: 'add, remove and list local files the node indexes as seeds', load: async () => await import('../node/cli/seeds.ts') },
  refresh: { summary: 'make the node read its workspaces from the tracker now', load: async () => ({ main: (await import('../node/cli/node.ts')).refreshMain }) },
  selftest: { summary: 'prove peer assistance works here: 2–3 local nodes pull together', load: async () => await import('./selftest.ts') },
  demo: { summary: 'tracker, sample image, nodes in two sites, then the offload summary', load: async () => await import('./demo.ts') }
}

// Aligned by hand, not with the toolkit's table: importing protocol/ would cost `--help` its speed.
function usage (): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length))
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `Usage: branchcast <command> [options]

Branchcast delivers VM images to branch offices, peer-assisted.

Commands:
${lines.join('\n')}

Run "branchcast <command> --help" for a command's options,
"branchcast --version" for the version.`
}

const [name, ...rest] = process.argv.slice(2)
if (name === '--version' || name === '-V') {
  // read, not imported: the version is the package's, and `--version` stays instant
  const { readFileSync } = await import('node:fs')
  console.log((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version)
  process.exit(0)
}
if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage())
  process.exit(name === undefined ? 2 : 0)
}
const command = COMMANDS[name]
try {
  if (command === undefined) throw new TypeError(`unknown command "${name}"; "branchcast --help" lists them`)
  const mod = await command.load()
  const code = await mod.main(rest)
  process.exitCode = typeof code === 'number' ? code : 0
} catch (err) {
  const { reportError } = await import('../protocol/index.ts')
  process.exitCode = reportError(command === undefined ? '' : name, err)
}
