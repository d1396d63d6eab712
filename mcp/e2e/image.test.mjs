// The Space image, run as a Hugging Face Space runs it (`make e2e-image`): what only a container
// shows. The rest of the end-to-end suite runs against containers of the same image in the same
// `npm run test:image` (server.mjs starts containers when WASMBOX_IMAGE is set).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { image, bin, startServer, stopAll, containerOf, containerEngine, runContainerOnce } from './server.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

if (!image) throw new Error('image.test.mjs tests the Space image: set WASMBOX_IMAGE (make e2e-image does)');
after(stopAll);

// A variable of the container's environment that no guest program may see.
const CANARY = { WASMBOX_E2E_CANARY: 'canary-7d0c1f' };

async function json(url, path, init = {}) {
  const r = await fetch(url + path, { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } });
  return { status: r.status, body: await r.json() };
}

async function session(url) {
  const { status, body } = await json(url, '/api/sessions', { method: 'POST' });
  assert.equal(status, 201, JSON.stringify(body));
  return body.session_id;
}

async function run(url, id, language, code) {
  return json(url, `/api/sessions/${id}/run`, { method: 'POST', body: JSON.stringify({ language, code }) });
}

const exec = (url, ...cmd) => containerEngine(['exec', containerOf(url), ...cmd]);

test('the image runs as a Space runs it: uid 1000, a seccomp profile without user namespaces, HEALTHCHECK, no toolchain', { timeout: 300_000 }, async (t) => {
  const url = await startServer(CANARY, { seccomp: 'space' });
  assert.equal(exec(url, 'id', '-u'), '1000');
  // The server (pid 1) runs under a seccomp filter (mode 2) that refuses it user namespaces.
  assert.match(exec(url, 'grep', 'Seccomp:', '/proc/1/status'), /Seccomp:\s+2/);
  assert.match(exec(url, 'sh', '-c', 'unshare -U true 2>&1; true'), /Operation not permitted/);
  const { body: info } = await json(url, '/api/info');
  assert.doesNotMatch(info.isolation.namespaces ?? '', /^active/, JSON.stringify(info.isolation));
  // HEALTHCHECK's command, run by the engine.
  containerEngine(['healthcheck', 'run', containerOf(url)]);
  // Nothing of the build stage: no compilers, Go, node or make, no sources.
  const tools = exec(url, 'sh', '-c', 'for p in go gcc cc clang make node npm python3 git; do command -v $p; done; ls -d /usr/local/go /src 2>/dev/null; true');
  assert.equal(tools, '', `build tools in the runtime stage: ${tools}`);
  // The image's wasmbox is the binary `make build` makes from the same tree.
  const inImage = exec(url, 'sha256sum', '/usr/local/bin/wasmbox').split(/\s+/)[0];
  const local = createHash('sha256').update(readFileSync(bin)).digest('hex');
  assert.equal(inImage, local, 'the image\'s wasmbox differs from bin/wasmbox');
  const size = Number(containerEngine(['image', 'inspect', '--format', '{{.Size}}', image]));
  t.diagnostic(`image ${image}: ${(size / 1e6).toFixed(0)} MB`);
  assert.ok(size < 300e6, `image is ${size} bytes`);
  // A Python run, the workspace under both of its names.
  const id = await session(url);
  const py = await run(url, id, 'python', "import os\nopen('/mnt/data/p.txt', 'w').write('py')\nprint(open('/workspace/p.txt').read(), sorted(k for k in os.environ if 'CANARY' in k))");
  assert.equal(py.body.stdout, 'py []\n', JSON.stringify(py.body));
  // `wasmbox run` in the container: a worker of its own, under the same profile, uid and layers.
  assert.equal(exec(url, 'sh', '-c', 'echo "import os; print(6 * 7, [k for k in os.environ if \'CANARY\' in k])" | wasmbox run -'), '42 []');
  assert.equal(exec(url, 'sh', '-c', 'echo "seq 3 | xargs echo" | wasmbox run --lang bash -'), '1 2 3');
  // The dynamic loader on a copy of a program in its workspace is refused by the exec check.
  const loader = exec(url, 'sh', '-c', 'ls /lib64/ld-linux-*.so.2 /lib/ld-linux-*.so.1 2>/dev/null | head -1');
  assert.ok(loader, 'no dynamic loader in the image');
  const escape = exec(url, 'sh', '-c', `printf '%s\\n' "echo /usr/bin/cat | xargs -I{} cp {} ./c && echo secret > s && printf '%s\\0' ${loader} ./c s | xargs -0 xargs" | wasmbox run --lang bash - 2>&1; true`);
  assert.doesNotMatch(escape, /secret/);
  assert.match(escape, /Permission denied/);
});

// bashModes: the layer combinations a container host may give, each made by the kernel (through
// the container's seccomp profile, see server.mjs's seccompArgs), not by wasmbox's own switches.
// want: the layers wasmbox must find, where the kernel has them at all (the engine's own profile
// measures that).
const bashModes = [
  { name: 'the engine\'s default profile (podman\'s lets a process make user namespaces)', seccomp: 'engine', want: { landlock: true, namespaces: true } },
  { name: 'a Space\'s profile (Docker\'s and containerd\'s rule: no user namespaces)', seccomp: 'space', want: { landlock: true, namespaces: false } },
  { name: 'no Landlock (landlock_* ENOSYS, as before Linux 5.13)', seccomp: 'nolandlock', want: { landlock: false, namespaces: true } },
  { name: 'neither (a Space\'s profile on a kernel without Landlock)', seccomp: 'space-nolandlock', want: { landlock: false, namespaces: false } },
];
let kernel; // the layers under the engine's own profile

const bashProbe = [
  // The workspace under both names, for programs and builtins.
  'echo hi > /mnt/data/a.txt && cat /workspace/a.txt && ls /mnt/data && (cd /workspace && ls)',
  // The server's environment and files: never.
  'cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n" | grep -c CANARY; env | grep -c CANARY',
  'ls /data 2>&1 | head -1; cat /etc/shadow 2>&1 | head -1; ls /home/user 2>&1 | head -1',
].join('\n');

const table = [];
for (const mode of bashModes) {
  test(`bash under ${mode.name}`, { timeout: 300_000 }, async (t) => {
    const url = await startServer(CANARY, { seccomp: mode.seccomp });
    const { body: info } = await json(url, '/api/info');
    const iso = info.isolation;
    const landlock = iso.landlock?.startsWith('active') ?? false;
    const namespaces = iso.namespaces?.startsWith('active') ?? false;
    kernel ??= { landlock, namespaces };
    if (landlock && !namespaces) {
      // Without a mount namespace the server answers programs' execve (the loader would run
      // uploaded files).
      assert.match(iso.exec_check ?? '', /^active/, JSON.stringify(iso));
    }
    assert.deepEqual({ landlock, namespaces }, { landlock: mode.want.landlock && kernel.landlock, namespaces: mode.want.namespaces && kernel.namespaces },
      JSON.stringify(iso));
    // get_system_info tells an MCP client the same.
    const client = new Client({ name: 'wasmbox-image', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const sys = await client.callTool({ name: 'get_system_info', arguments: {} });
    assert.deepEqual(sys.structuredContent.isolation, iso);
    const id = await session(url);
    const r = await run(url, id, 'bash', bashProbe);
    const row = { mode: mode.name, landlock, namespaces, bash: iso.bash.split(':')[0].split(' ')[0] };
    if (!landlock && !namespaces) {
      // Refused everywhere with the same sentence: the JSON API, get_system_info, the MCP tool's
      // description, LibreChat's endpoint.
      assert.ok(!info.languages.includes('bash'), info.languages.join(' '));
      assert.match(iso.bash, /^refused/);
      assert.ok(r.status >= 400, JSON.stringify(r.body));
      const why = JSON.stringify(r.body);
      assert.match(why, /bash is not available on this server/);
      const { tools } = await client.listTools();
      assert.match(tools.find((x) => x.name === 'execute_bash_command').description, /bash is not available on this server/);
      const called = await client.callTool({ name: 'execute_bash_command', arguments: { command: 'echo hi' } });
      assert.match(JSON.stringify(called.content), /bash is not available on this server/);
      const lc = await json(url, '/librechat/v1/exec', { method: 'POST', body: JSON.stringify({ lang: 'bash', code: 'echo hi' }), headers: { 'User-Agent': 'LibreChat/1.0' } });
      assert.equal(lc.status, 400);
      assert.match(lc.body.error, /bash is not available on this server/);
      row.result = 'refused with a reason';
    } else {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const out = r.body.stdout.split('\n');
      assert.deepEqual(out.slice(0, 4), ['hi', 'a.txt', 'a.txt', '0'], r.body.stdout + r.body.stderr);
      assert.equal(out[4], '0', 'bash programs see the container\'s environment');
      // /data, /etc/shadow and the server's home: refused or absent, never listed.
      for (const line of out.slice(5, 8)) assert.match(line, /No such file|Permission denied|outside the workspace|not permitted|denied/, r.body.stdout);
      row.result = 'runs; workspace at /workspace and /mnt/data; no environment, /proc, /data or host files';
    }
    await client.close();
    t.diagnostic(JSON.stringify(row));
    table.push(row);
  });
}

test('a /data the server cannot write is refused in one line; a shared one works', { timeout: 300_000 }, async () => {
  for (const data of ['ro', 'root']) {
    const { status, output } = runContainerOnce(data);
    assert.notEqual(status, null, `the server started on a ${data} /data`);
    assert.notEqual(status, 0);
    const lines = output.trim().split('\n');
    assert.equal(lines.length, 1, output);
    assert.match(lines[0], /data directory \/data is not usable by uid 1000 .*WASMBOX_DATA_DIR/);
  }
  // Writable by everyone but owned by root, as a mounted bucket may be: sessions work.
  const url = await startServer({}, { data: 'shared' });
  const id = await session(url);
  const py = await run(url, id, 'python', "open('/mnt/data/x', 'w').write('1'); print(open('/workspace/x').read())");
  assert.equal(py.body.stdout, '1\n', JSON.stringify(py.body));
});

after(() => {
  if (table.length) console.log('bash in the container:\n' + table.map((r) => `  ${r.mode}: landlock ${r.landlock}, namespaces ${r.namespaces}: ${r.result}`).join('\n'));
});
