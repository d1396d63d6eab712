// Starts and stops `wasmbox serve` processes for the end-to-end tests.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
export const bin = process.env.WASMBOX_BIN || join(here, '..', '..', 'bin', 'wasmbox');
const servers = [];

// With WASMBOX_IMAGE set, each server is a container of that image run as a Hugging Face Space
// runs one: its own user (uid 1000), port 7860 published, /data a volume, the engine's default
// seccomp profile without user namespaces. WASMBOX_CONTAINER_ENGINE is the engine's command line (podman and its global
// flags), WASMBOX_CONTAINER_ARGS more `run` flags (ulimits; a security option).
export const image = process.env.WASMBOX_IMAGE;
const engine = (process.env.WASMBOX_CONTAINER_ENGINE || 'podman').split(/\s+/).filter(Boolean);
const runArgs = (process.env.WASMBOX_CONTAINER_ARGS || '').split(/\s+/).filter(Boolean);
// WASMBOX_CONTAINER_SECCOMP picks the containers' seccomp profile (see seccompArgs): 'space' (the
// default: no user namespaces, as Docker's and containerd's default profiles have it) or
// 'engine' (the engine's own default; podman's lets a process make user namespaces).
const profileKind = process.env.WASMBOX_CONTAINER_SECCOMP || 'space';
// One compilation cache for every container of the run (python.wasm is compiled by the first).
let compileCache;

export function containerEngine(args, opts = {}) {
  const r = spawnSync(engine[0], [...engine.slice(1), ...args], { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${engine.join(' ')} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

// dataVolume prepares dataDir as `data` says: 'own' (uid 1000's, as the Dockerfile's chown
// leaves /data), 'root' (root's, mode 0755: not writable by the server), 'shared' (root's, mode
// 1777: writable but not the server's own, as a storage bucket may be), 'ro' (the server's,
// mounted read-only). Returns the -v argument.
function dataVolume(dataDir, data = 'own') {
  const [uid, mode] = { own: [1000, 0o700], ro: [1000, 0o700], root: [0, 0o755], shared: [0, 0o1777] }[data];
  chownSync(dataDir, uid, uid);
  chmodSync(dataDir, mode);
  return `${dataDir}:/data${data === 'ro' ? ':ro' : ''}`;
}

function cacheVolume() {
  if (!compileCache) {
    compileCache = mkdtempSync(join(tmpdir(), 'wasmbox-e2e-cache-'));
    chownSync(compileCache, 1000, 1000);
  }
  return `${compileCache}:/home/user/.cache`;
}

// The engine's default seccomp profile (podman's, from containers-common).
const engineProfile = '/usr/share/containers/seccomp.json';
let profileDir;

// seccompArgs returns the run flags for a seccomp profile: 'engine' is the engine's default;
// 'space' is that profile with user namespaces taken away by the rules Docker's and containerd's
// default profiles (and so Kubernetes' RuntimeDefault, what a Space most likely runs under) apply
// to a process without CAP_SYS_ADMIN: clone with any namespace flag, unshare, setns, mount,
// umount2 and pivot_root fail with EPERM, clone3 with ENOSYS (its flags are out of seccomp's
// reach). 'nolandlock' takes Landlock away as a kernel before 5.13 does (landlock_* ENOSYS);
// 'space-nolandlock' both.
export function seccompArgs(kind) {
  if (kind === 'engine') return [];
  if (!existsSync(engineProfile)) {
    throw new Error(`${engineProfile} is missing: the ${kind} profile is derived from podman's default (Debian's containers-common package, installed with podman)`);
  }
  const base = JSON.parse(readFileSync(engineProfile, 'utf8'));
  const drop = new Set();
  const add = [];
  if (kind.startsWith('space')) {
    // Docker's default errno (podman's is ENOSYS): what unshare -U and a namespaced clone get.
    base.defaultErrnoRet = 1;
    base.defaultErrno = 'EPERM';
    ['clone', 'clone3', 'unshare', 'setns', 'mount', 'umount2', 'pivot_root'].forEach((n) => drop.add(n));
    // CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
    add.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7E020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    add.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  }
  if (kind.endsWith('nolandlock')) {
    ['landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'].forEach((n) => drop.add(n));
    add.push({ names: ['landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  }
  if (!drop.size) throw new Error(`unknown seccomp profile kind ${kind}: engine, space, nolandlock or space-nolandlock`);
  base.syscalls = base.syscalls.map((r) => ({ ...r, names: r.names.filter((n) => !drop.has(n)) }))
    .filter((r) => r.names.length).concat(add);
  profileDir ??= mkdtempSync(join(tmpdir(), 'wasmbox-e2e-seccomp-'));
  const file = join(profileDir, `${kind}.json`);
  writeFileSync(file, JSON.stringify(base));
  return ['--security-opt', `seccomp=${file}`];
}

const envArgs = (env) => Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);

function startContainer(port, dataDir, env, opts) {
  const id = containerEngine(['run', '-d', '-p', `127.0.0.1:${port}:7860`, '-v', dataVolume(dataDir, opts.data),
    '-v', cacheVolume(), ...runArgs, ...seccompArgs(opts.seccomp || profileKind), ...(opts.runArgs || []), ...envArgs(env), image]);
  return {
    id,
    logs: () => spawnSync(engine[0], [...engine.slice(1), 'logs', id], { encoding: 'utf8' }).stderr,
    exited: () => containerEngine(['inspect', '--format', '{{.State.Running}}', id]) !== 'true',
    stop: () => {
      // SIGTERM, then the graceful shutdown's 20 s before SIGKILL, as the server process below.
      containerEngine(['stop', '-t', '20', id]);
      containerEngine(['rm', '-f', id]);
    },
  };
}

// runContainerOnce runs the image's server with a data volume as `data` says and returns how it
// ended ({status, output}) or, if it is still serving after `wait` ms, status null: for servers
// expected to refuse to start.
export function runContainerOnce(data, env = {}, wait = 60_000) {
  const dataDir = mkdtempSync(join(tmpdir(), 'wasmbox-e2e-'));
  const name = `wasmbox-e2e-once-${process.pid}-${Date.now()}`;
  try {
    const r = spawnSync(engine[0], [...engine.slice(1), 'run', '--name', name, '-v', dataVolume(dataDir, data),
      '-v', cacheVolume(), ...runArgs, ...seccompArgs(profileKind), ...envArgs(env), image], { encoding: 'utf8', timeout: wait });
    // What the server wrote, without the engine's own messages (podman's about systemd timers).
    const logs = spawnSync(engine[0], [...engine.slice(1), 'logs', name], { encoding: 'utf8' });
    return { status: r.status, output: (logs.stdout || '') + (logs.stderr || '') };
  } finally {
    spawnSync(engine[0], [...engine.slice(1), 'rm', '-f', '-t', '0', name]);
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// startServer starts a server (a container of WASMBOX_IMAGE when set; opts.seccomp its seccomp
// profile's kind, see seccompArgs, opts.runArgs more `run` flags for it and opts.data its data
// volume's kind, see dataVolume) and returns its URL.
export async function startServer(env = {}, opts = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'wasmbox-e2e-'));
  env = { WASMBOX_POOL_SIZE: '1', RATE_LIMIT_PER_MINUTE: '0', ...env };
  let server;
  if (image) {
    server = startContainer(port, dataDir, env, opts);
  } else {
    const proc = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let logs = '';
    proc.stderr.on('data', (d) => { logs += d; });
    server = {
      logs: () => logs,
      exited: () => proc.exitCode !== null,
      stop: async () => {
        // Wait for the graceful shutdown, which writes the sessions' metadata.
        const exited = proc.exitCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      },
    };
  }
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      // The server accepts connections before it serves (it listens first to report a busy
      // port at once), so a probe may wait: bound each one.
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (i > 1200 || server.exited()) throw new Error(`wasmbox serve did not start:\n${server.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  servers.push({ server, dataDir, url });
  return url;
}

// proxyPeers is what WASMBOX_TRUSTED_PROXIES must name for a reverse proxy on this machine: the
// loopback for a server process, the engine's default network for a container (a published port
// reaches it from that network's gateway, not from 127.0.0.1).
export function proxyPeers() {
  if (!image) return '127.0.0.1/32';
  const format = engine[0] === 'docker' ? '{{range .IPAM.Config}}{{.Subnet}}{{end}}' : '{{range .Subnets}}{{.Subnet}}{{end}}';
  return containerEngine(['network', 'inspect', engine[0] === 'docker' ? 'bridge' : 'podman', '--format', format]);
}

// containerOf returns the id of the container serving url (WASMBOX_IMAGE set).
export function containerOf(url) {
  return servers.find((s) => s.url === url)?.server.id;
}

export async function stopAll() {
  for (const s of servers.splice(0)) {
    await s.server.stop();
    rmSync(s.dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}

// After the last test file: the shared compilation cache.
process.on('exit', () => {
  for (const dir of [compileCache, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});
