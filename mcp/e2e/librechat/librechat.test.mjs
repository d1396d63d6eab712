// LibreChat's own client, @librechat/agents (pinned), against wasmbox's LibreChat code API:
// the tools and ToolNode exactly as LibreChat wires them, with no model in the loop.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { agents, call, text } from './toolnode.mjs';
import { startServer, stopAll } from '../server.mjs';

after(stopAll);

test('a ToolNode conversation: a file written by Python is read by Python and bash later', { timeout: 120_000 }, async () => {
  const base = `${await startServer()}/librechat/v1`;
  const sessions = new Map();
  const node = new agents.ToolNode({
    tools: [agents.createCodeExecutionTool({ baseUrl: base }), agents.createBashExecutionTool({ baseUrl: base })],
    sessions,
  });
  const first = await call(node, 'execute_code', { lang: 'py', code: "open('/mnt/data/out.txt', 'w').write('from call 1')\nprint('wrote')" });
  assert.match(text(first), /wrote/);
  assert.equal(first.artifact.files.length, 1, JSON.stringify(first.artifact));
  const second = await call(node, 'execute_code', { lang: 'py', code: "print(open('/mnt/data/out.txt').read())" });
  assert.match(text(second), /from call 1/, text(second));
  const third = await call(node, 'bash_tool', { command: 'cat out.txt; echo; echo "arg: $1"', args: ['x y'] });
  assert.match(text(third), /from call 1/, text(third));
  assert.match(text(third), /arg: x y/, text(third));
  // The run deletes it: the client forgets the file.
  const fourth = await call(node, 'bash_tool', { command: 'rm out.txt' });
  assert.deepEqual(fourth.artifact.deleted_files, ['out.txt'], JSON.stringify(fourth.artifact));
});

test('statefulSessions keep a variable between calls', { timeout: 120_000 }, async () => {
  const base = `${await startServer()}/librechat/v1`;
  const tool = agents.createCodeExecutionTool({ baseUrl: base, statefulSessions: true, runtimeSessionHint: 'conversation-1' });
  const node = new agents.ToolNode({ tools: [tool], sessions: new Map() });
  const first = await call(node, 'execute_code', { lang: 'py', code: 'x = 41' });
  assert.equal(first.artifact.runtime_status, 'new', JSON.stringify(first.artifact));
  const second = await call(node, 'execute_code', { lang: 'py', code: 'print(x + 1)' });
  assert.match(text(second), /42/, text(second));
  assert.equal(second.artifact.runtime_status, 'reused');
  assert.equal(second.artifact.runtime_session_id, first.artifact.runtime_session_id);
});

// upload sends files as LibreChat's server does: multipart "file" parts with kind and id.
async function upload(base, path, files) {
  const form = new FormData();
  form.append('kind', 'user');
  form.append('id', 'user-1');
  for (const [name, content] of files) form.append('file', new Blob([content]), name);
  const r = await fetch(`${base}${path}`, { method: 'POST', body: form, headers: { 'User-Agent': 'LibreChat/1.0' } });
  assert.equal(r.status, 200);
  return r.json();
}

test('uploads, single and batch, are read by code', { timeout: 120_000 }, async () => {
  const base = `${await startServer()}/librechat/v1`;
  const single = await upload(base, '/upload', [['sales.csv', 'month,amount\njan,10\nfeb,32\n']]);
  assert.equal(single.message, 'success');
  assert.ok(single.storage_session_id, JSON.stringify(single));
  const batch = await upload(base, '/upload/batch', [['a.txt', 'A'], ['sub/b.txt', 'B']]);
  assert.equal(batch.succeeded, 2, JSON.stringify(batch));
  const ref = (up, f) => ({ id: f.fileId, resource_id: f.fileId, name: f.filename, storage_session_id: up.storage_session_id, kind: 'user' });
  const tool = agents.createCodeExecutionTool({ baseUrl: base });
  const msg = await tool.invoke({
    id: 'call_up', name: 'execute_code', type: 'tool_call',
    args: { lang: 'py', code: "import csv\nprint(sum(int(r['amount']) for r in csv.DictReader(open('/mnt/data/sales.csv'))), open('a.txt').read(), open('sub/b.txt').read())" },
    _injected_files: [ref(single, single.files[0]), ...batch.files.map((f) => ref(batch, f))],
  });
  assert.match(text(msg), /42 A B/, text(msg));
  // A client up to 3.0.x lists files with ?detail=full and reads the original file name.
  const listed = await (await fetch(`${base}/files/${single.storage_session_id}?detail=full`)).json();
  const sales = listed.find((f) => f.id === single.files[0].fileId);
  assert.equal(sales?.metadata['original-filename'], 'sales.csv', JSON.stringify(listed));
});

test('the file reference shape of clients up to 3.0.x still works', { timeout: 120_000 }, async () => {
  const base = `${await startServer()}/librechat/v1`;
  const up = await upload(base, '/upload', [['old.txt', 'old shape']]);
  const r = await fetch(`${base}/exec`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ lang: 'py', code: "print(open('old.txt').read())", files: [{ id: up.files[0].fileId, name: 'old.txt', session_id: up.session_id }] }),
  });
  const out = await r.json();
  assert.match(out.stdout, /old shape/, JSON.stringify(out));
});

test('a 429 tells the client when to retry', { timeout: 120_000 }, async () => {
  const base = `${await startServer({ RATE_LIMIT_PER_MINUTE: '2' })}/librechat/v1`;
  const tool = agents.createCodeExecutionTool({ baseUrl: base });
  const invoke = () => tool.invoke({ id: 'c', name: 'execute_code', type: 'tool_call', args: { lang: 'py', code: 'print(1)' } });
  await invoke();
  await invoke();
  await assert.rejects(invoke, /rate-limited\. Retry after \d+ seconds/);
});

// LibreChat's JWT mode (CODEAPI_AUTH_PROVIDER=librechat-jwt): LibreChat passes the client an
// authHeaders function that mints a short-lived Ed25519 token; wasmbox verifies it with the
// public key from CODEAPI_JWT_PUBLIC_KEY. The token is signed here as LibreChat's
// packages/api/src/auth/codeapi.ts signs it (header alg/typ/kid, claims iss/aud/sub/iat/nbf/
// exp/jti/tenant_id/role/principal_source/auth_context_hash).
test('LibreChat JWT mode: signed tokens authenticate, each user sees only their own files', { timeout: 120_000 }, async () => {
  const crypto = await import('node:crypto');
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const base = `${await startServer({ CODEAPI_JWT_PUBLIC_KEY: pem, CODEAPI_JWT_KID: 'test-kid' })}/librechat/v1`;
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const mint = (sub) => {
    const now = Math.floor(Date.now() / 1000);
    const head = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: 'test-kid' })}.${b64({
      iss: 'librechat', aud: 'codeapi', sub, iat: now, nbf: now, exp: now + 300, jti: crypto.randomUUID(),
      tenant_id: 'legacy', role: 'USER', principal_source: 'librechat_jwt', auth_context_hash: 'x',
    })}`;
    return `${head}.${crypto.sign(null, Buffer.from(head), privateKey).toString('base64url')}`;
  };
  const authHeaders = (sub) => async () => ({ Authorization: `Bearer ${mint(sub)}` });
  const node = new agents.ToolNode({
    tools: [agents.createCodeExecutionTool({ baseUrl: base, authHeaders: authHeaders('alice') })],
    sessions: new Map(),
  });
  const first = await call(node, 'execute_code', { lang: 'py', code: "open('/mnt/data/a.txt', 'w').write('alice')\nprint('ok')" });
  assert.match(text(first), /ok/, text(first));
  const again = await call(node, 'execute_code', { lang: 'py', code: "print(open('/mnt/data/a.txt').read())" });
  assert.match(text(again), /alice/, text(again));
  // Another user's token does not open Alice's session.
  const session = first.artifact.session_id;
  const r = await fetch(`${base}/files/${session}`, { headers: await authHeaders('bob')() });
  assert.equal(r.status, 404);
  // Without a token, or with one signed by another key, the client is refused.
  const bare = agents.createCodeExecutionTool({ baseUrl: base });
  await assert.rejects(() => bare.invoke({ id: 'c', name: 'execute_code', type: 'tool_call', args: { lang: 'py', code: 'print(1)' } }));
  const r2 = await fetch(`${base}/exec`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer a.b.c' }, body: '{"lang":"py","code":"print(1)"}',
  });
  assert.equal(r2.status, 401);
});
