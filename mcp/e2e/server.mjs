// Starts and stops `wasmbox serve` processes for the end-to-end tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
export const bin = process.env.WASMBOX_BIN || join(here, '..', '..', 'bin', 'wasmbox');
const servers = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

export async function startServer(env) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'wasmbox-e2e-'));
  const proc = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env: { ...process.env, WASMBOX_POOL_SIZE: '1', RATE_LIMIT_PER_MINUTE: '0', ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let logs = '';
  proc.stderr.on('data', (d) => { logs += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      // The server accepts connections before it serves (it listens first to report a busy
      // port at once), so a probe may wait: bound each one.
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (i > 1200 || proc.exitCode !== null) throw new Error(`wasmbox serve did not start:\n${logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  servers.push({ proc, dataDir });
  return url;
}

export async function stopAll() {
  for (const s of servers.splice(0)) {
    // Wait for the graceful shutdown, which writes the sessions' metadata, before removing them.
    const exited = s.proc.exitCode !== null ? Promise.resolve() : new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    rmSync(s.dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}
