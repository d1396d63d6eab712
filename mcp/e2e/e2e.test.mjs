// End-to-end tests of `wasmbox serve` through the official MCP TypeScript SDK (the client
// LibreChat uses) and the MCP conformance suite. Run by `make test` after building bin/wasmbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startServer, stopAll } from './server.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const here = dirname(fileURLToPath(import.meta.url));
const KEY = 'e2e-secret-key';

let keyed; // a server with WASMBOX_API_KEYS, as a public deployment runs
let open;  // a server without keys, for the conformance suite (it sends no credentials)

before(async () => {
  keyed = await startServer({ WASMBOX_API_KEYS: KEY });
  open = await startServer({});
}, { timeout: 300_000 });

after(stopAll);

const auth = { Authorization: `Bearer ${KEY}` };

function transports(base) {
  return {
    'streamable HTTP': () => new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: auth } }),
    SSE: () => new SSEClientTransport(new URL(`${base}/sse`), {
      requestInit: { headers: auth },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...auth } }) },
    }),
    'SSE at the Gradio path': () => new SSEClientTransport(new URL(`${base}/gradio_api/mcp/sse`), {
      requestInit: { headers: auth },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...auth } }) },
    }),
  };
}

async function connect(make) {
  const client = new Client({ name: 'wasmbox-e2e', version: '1.0.0' });
  await client.connect(make());
  return client;
}

const wantTools = ['create_execution_session', 'delete_session', 'execute_bash_command', 'execute_javascript_code',
  'execute_python_code', 'get_execution_history', 'get_system_info', 'list_execution_sessions', 'list_files', 'read_file',
  'upload_file'];

for (const name of ['streamable HTTP', 'SSE', 'SSE at the Gradio path']) {
  test(`TypeScript SDK over ${name}`, { timeout: 120_000 }, async () => {
    const client = await connect(transports(keyed)[name]);
    try {
      assert.match(client.getInstructions() ?? '', /python/);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), wantTools);
      const py = tools.find((t) => t.name === 'execute_python_code');
      assert.equal(py.outputSchema?.type, 'object');

      const created = await client.callTool({ name: 'create_execution_session', arguments: {} });
      const sid = created.structuredContent.session_id;
      assert.match(sid, /^[0-9a-f]{32}$/);

      // The SDK validates structuredContent against the tool's outputSchema on every call.
      await client.callTool({ name: 'execute_python_code', arguments: { code: 'import statistics\nxs = [3, 1, 4, 1, 5]', session_id: sid } });
      const r = await client.callTool({ name: 'execute_python_code', arguments: { code: 'statistics.median(xs)', session_id: sid } });
      assert.equal(r.isError ?? false, false);
      assert.equal(r.structuredContent.stdout, '3\n');
      assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent, 'the text block carries the same JSON');

      const bad = await client.callTool({ name: 'execute_python_code', arguments: { code: "int('x')", session_id: sid } });
      assert.equal(bad.isError, true);
      assert.equal(bad.structuredContent.error.kind, 'exception');
      assert.match(bad.structuredContent.stderr, /ValueError/);

      const gone = await client.callTool({ name: 'execute_python_code', arguments: { code: '1', session_id: 'f'.repeat(32) } });
      assert.equal(gone.isError, true);
      assert.match(gone.content[0].text, /create_execution_session/);

      const hist = await client.callTool({ name: 'get_execution_history', arguments: { session_id: sid } });
      assert.equal(hist.structuredContent.history.length, 3);
      const list = await client.callTool({ name: 'list_execution_sessions', arguments: {} });
      assert.ok(list.structuredContent.sessions.some((s) => s.session_id === sid));
      const info = await client.callTool({ name: 'get_system_info', arguments: {} });
      assert.ok(info.structuredContent.languages.includes('python'));

      const js = await client.callTool({ name: 'execute_javascript_code', arguments: { code: 'const m = new Map([["a", 1]]); console.log(m)', session_id: sid } });
      assert.equal(js.isError ?? false, false);
      assert.equal(js.structuredContent.stdout, "Map(1) { 'a' => 1 }\n");
      const ts = await client.callTool({ name: 'execute_javascript_code', arguments: { code: 'const k: string = "typed"; k.length', language: 'typescript', session_id: sid } });
      assert.equal(ts.structuredContent.stdout, '5\n');
      const plot = await client.callTool({ name: 'execute_python_code', arguments: { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("e2e")\nplt.show()', session_id: sid } });
      assert.equal(plot.isError ?? false, false);
      assert.equal(plot.content[1].type, 'image');
      assert.equal(plot.content[1].mimeType, 'image/png');
      assert.equal(plot.structuredContent.figures.length, 1);
      const up = await client.callTool({ name: 'upload_file', arguments: { session_id: sid, path: 'in/data.csv', content_base64: Buffer.from('x,y\n1,2\n').toString('base64') } });
      assert.equal(up.isError ?? false, false);
      const rd = await client.callTool({ name: 'read_file', arguments: { session_id: sid, path: 'in/data.csv' } });
      assert.equal(rd.content[0].text, 'x,y\n1,2\n');
      const sh = await client.callTool({ name: 'execute_bash_command', arguments: { command: 'seq 3 | paste -sd+ 2>/dev/null || seq 3 | tr "\\n" " "', session_id: sid } });
      assert.equal(sh.structuredContent.session_id, sid);
      const sh2 = await client.callTool({ name: 'execute_bash_command', arguments: { command: 'printf "%s\\n" c a b | sort | head -1', session_id: sid } });
      assert.equal(sh2.structuredContent.stdout, 'a\n');
    } finally {
      await client.close();
    }
  });
}

// mcp-remote (npm) bridges stdio-only clients (Claude Desktop) to a remote server: the key goes in
// its --header, as docs/stdio-clients.md shows.
test('mcp-remote with the key in --header', { timeout: 120_000 }, async () => {
  const config = mkdtempSync(join(tmpdir(), 'wasmbox-mcp-remote-'));
  const client = new Client({ name: 'wasmbox-e2e', version: '1.0.0' });
  try {
    await client.connect(new StdioClientTransport({
      command: process.execPath,
      args: [join(here, 'node_modules', 'mcp-remote', 'dist', 'proxy.js'), `${keyed}/mcp`, '--header', `Authorization: Bearer ${KEY}`],
      env: { ...process.env, MCP_REMOTE_CONFIG_DIR: config },
      stderr: 'ignore',
    }));
    const r = await client.callTool({ name: 'execute_python_code', arguments: { code: 'print(6 * 7)' } });
    assert.match(JSON.stringify(r.content), /42/);
  } finally {
    await client.close();
    rmSync(config, { recursive: true, force: true });
  }
});

test('requests without the API key are refused with 401', async () => {
  for (const path of ['/mcp', '/sse', '/gradio_api/mcp/sse']) {
    const r = await fetch(`${keyed}${path}`, { method: path === '/mcp' ? 'POST' : 'GET', headers: { 'Content-Type': 'application/json' }, body: path === '/mcp' ? '{}' : undefined });
    assert.equal(r.status, 401, path);
    assert.match((await r.json()).error, /API key/);
  }
  const client = new Client({ name: 'no-key', version: '1.0.0' });
  await assert.rejects(client.connect(new StreamableHTTPClientTransport(new URL(`${keyed}/mcp`))));
  const health = await fetch(`${keyed}/healthz`);
  assert.equal(health.status, 200);
});

// The newest conformance suite needs Node 22: it runs on the node@22 package from the npm
// registry, whatever node runs these tests.
test('MCP conformance suite', { timeout: 600_000 }, () => {
  const node22 = join(here, 'node_modules', 'node', 'bin', 'node');
  const suite = join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
  const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim();
  assert.match(version, /^v22\./, `node@22 from npm: ${version}`);
  const r = spawnSync(node22, [suite, 'server', '--url', `${open}/mcp`,
    '--expected-failures', join(here, 'conformance-expected-failures.yml')],
  { cwd: here, encoding: 'utf8', timeout: 590_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const summary = out.slice(out.indexOf('=== SUMMARY ==='));
  console.log(summary);
  assert.equal(r.status, 0, `conformance suite failed:\n${summary}`);
});

test('the Dockerfile lints clean and has what a Hugging Face Space needs', () => {
  const dockerfile = join(here, '..', '..', 'Dockerfile');
  const lint = spawnSync('npx', ['--no-install', 'dockerfilelint', dockerfile], { cwd: here, encoding: 'utf8' });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  const text = readFileSync(dockerfile, 'utf8');
  for (const want of [/^FROM .* AS build$/m, /^RUN make build$/m, /^USER 1000$/m, /^EXPOSE 7860$/m, /^HEALTHCHECK .*wasmbox", "healthcheck/m, /chown user:user \/data/]) {
    assert.match(text, want);
  }
});
