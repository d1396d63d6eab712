// LibreChat's own client, @librechat/agents, against wasmbox replicas in cluster mode behind a
// round-robin proxy: run by cmd/wasmbox's TestCluster_libreChat, which starts the replicas, the
// store, Redis and nginx and passes the proxy's URL in WASMBOX_URL (not part of `npm test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agents, call, text } from './toolnode.mjs';

const url = process.env.WASMBOX_URL;
if (!url) throw new Error('WASMBOX_URL: the cluster to test (see cmd/wasmbox TestCluster_libreChat)');
const base = `${url}/librechat/v1`;

test('statefulSessions keep variables while the calls go round the replicas', { timeout: 300_000 }, async () => {
  const tool = agents.createCodeExecutionTool({ baseUrl: base, statefulSessions: true, runtimeSessionHint: 'cluster-conversation' });
  const node = new agents.ToolNode({ tools: [tool], sessions: new Map() });
  const first = await call(node, 'execute_code', { lang: 'py', code: 'x = 0' });
  assert.equal(first.artifact.runtime_status, 'new', JSON.stringify(first.artifact));
  // Six calls: round robin puts two on each of the three replicas.
  for (let i = 1; i <= 6; i++) {
    const m = await call(node, 'execute_code', { lang: 'py', code: 'x += 1\nprint(x)' });
    assert.match(text(m), new RegExp(`^stdout:\\s*${i}\\s*$`, 'm'), text(m));
    assert.equal(m.artifact.runtime_status, 'reused', JSON.stringify(m.artifact));
    assert.equal(m.artifact.runtime_session_id, first.artifact.runtime_session_id);
  }
});

test('a ToolNode conversation: a file written by Python is read by Python and bash on other replicas', { timeout: 300_000 }, async () => {
  const node = new agents.ToolNode({
    tools: [agents.createCodeExecutionTool({ baseUrl: base }), agents.createBashExecutionTool({ baseUrl: base })],
    sessions: new Map(),
  });
  const first = await call(node, 'execute_code', { lang: 'py', code: "open('/mnt/data/out.txt', 'w').write('from call 1')\nprint('wrote')" });
  assert.match(text(first), /wrote/);
  assert.equal(first.artifact.files.length, 1, JSON.stringify(first.artifact));
  const second = await call(node, 'execute_code', { lang: 'py', code: "print(open('/mnt/data/out.txt').read())" });
  assert.match(text(second), /from call 1/, text(second));
  const third = await call(node, 'bash_tool', { command: 'cat out.txt' });
  assert.match(text(third), /from call 1/, text(third));
  // The file, downloaded through the proxy (LibreChat's /download): whichever replica answers.
  for (let i = 0; i < 3; i++) {
    const f = first.artifact.files[0];
    const r = await fetch(`${base}/download/${first.artifact.session_id}/${f.id}`);
    assert.equal(r.status, 200, `download ${i + 1}: ${r.status}`);
    assert.equal(await r.text(), 'from call 1');
  }
});
