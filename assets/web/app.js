// The wasmbox playground: talks to the JSON API under /api/.
import { createEditor } from './dist/editor.js';

const examples = {
  plot: { language: 'python', code: `import math
import matplotlib.pyplot as plt

x = [i * 0.05 for i in range(200)]
y = [math.exp(-0.3 * t) * math.sin(2 * math.pi * 0.5 * t) for t in x]
envelope = [math.exp(-0.3 * t) for t in x]

plt.figure(figsize=(8, 4))
plt.plot(x, y, label='damped sine')
plt.plot(x, envelope, 'r--', label='envelope')
plt.title('Damped sine wave')
plt.xlabel('time (s)')
plt.ylabel('amplitude')
plt.legend()
plt.grid(True)
plt.show()
` },
  js: { language: 'javascript', code: `const data = [12, 7, 3, 14, 9, 21, 5, 8];
const mean = data.reduce((a, b) => a + b, 0) / data.length;
const sd = Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length);
const sorted = [...data].sort((a, b) => a - b);
const median = (sorted[3] + sorted[4]) / 2;
console.log({ mean, median, sd: +sd.toFixed(3), min: sorted[0], max: sorted.at(-1) });
console.table(data.map((v, i) => ({ i, v, z: +((v - mean) / sd).toFixed(2) })));
` },
  bash: { language: 'bash', code: `printf 'apple 3\\nbanana 7\\ncherry 2\\napple 5\\nbanana 1\\n' > fruit.txt
awk '{ sum[$1] += $2 } END { for (f in sum) print f, sum[f] }' fruit.txt | sort -k2 -nr
wc -l fruit.txt
` },
};

const $ = (id) => document.getElementById(id);
let sessionId = null;
let apiKey = sessionStorage.getItem('wasmbox-key') || '';

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const r = await fetch(path, { ...options, headers });
  if (r.status === 401) {
    $('key-prompt').hidden = false;
    throw new Error('an API key is needed');
  }
  const type = r.headers.get('Content-Type') || '';
  const body = type.includes('application/json') ? await r.json() : await r.blob();
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const editor = createEditor($('editor'), { doc: examples.plot.code, language: 'python', onRun: run });

async function refreshSessions(select) {
  const { sessions } = await api('api/sessions');
  const sel = $('session');
  sel.replaceChildren(...sessions.map((s) => {
    const o = el('option', '', `${s.session_id.slice(0, 8)}… (${s.runs} runs)`);
    o.value = s.session_id;
    return o;
  }));
  if (select) sessionId = select;
  if (!sessionId && sessions.length) sessionId = sessions[0].session_id;
  if (!sessions.some((s) => s.session_id === sessionId)) sessionId = sessions.length ? sessions[0].session_id : null;
  if (sessionId) sel.value = sessionId;
}

async function newSession() {
  const { session_id } = await api('api/sessions', { method: 'POST' });
  await refreshSessions(session_id);
  $('output').replaceChildren();
  await refreshFiles();
}

async function ensureSession() {
  if (!sessionId) await newSession();
}

function show(result, language) {
  const box = el('div', 'run');
  box.dataset.language = language;
  if (result.stdout) box.append(el('pre', 'stdout', result.stdout));
  if (result.stderr) box.append(el('pre', 'stderr', result.stderr));
  for (const im of result.images || []) {
    const img = el('img');
    img.alt = 'figure';
    img.src = `data:${im.mime};base64,${im.data}`;
    box.append(img);
  }
  if (result.error) box.append(el('div', 'error', `${result.error.kind}: ${result.error.message}`));
  const notes = [`${language}`, `${result.duration_ms} ms`, `exit ${result.exit_code}`];
  if (result.truncated) notes.push('output truncated');
  if (result.state_reset) notes.push('state was reset');
  box.append(el('div', 'meta', notes.join(' · ')));
  $('output').prepend(box);
}

async function run() {
  const button = $('run');
  if (button.disabled) return;
  button.disabled = true;
  $('status').textContent = 'running…';
  const language = $('language').value;
  try {
    await ensureSession();
    const result = await api(`api/sessions/${sessionId}/run`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ language, code: editor.value }),
    });
    show(result, language);
    $('status').textContent = result.success ? 'done' : 'failed';
    await refreshFiles();
    await refreshSessions();
  } catch (e) {
    show({ error: { kind: 'request', message: e.message }, duration_ms: 0, exit_code: '-' }, language);
    $('status').textContent = 'error';
  } finally {
    button.disabled = false;
  }
}

async function refreshFiles() {
  const list = $('file-list');
  if (!sessionId) { list.replaceChildren(); return; }
  const { files } = await api(`api/sessions/${sessionId}/files`);
  list.replaceChildren(...files.map((f) => {
    const li = el('li');
    const a = el('a', '', f.path);
    a.href = '#';
    a.addEventListener('click', async (ev) => {
      ev.preventDefault();
      const blob = await api(`api/sessions/${sessionId}/files/${f.path.split('/').map(encodeURIComponent).join('/')}`);
      const url = URL.createObjectURL(blob);
      const link = el('a');
      link.href = url;
      link.download = f.path.split('/').pop();
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    li.append(a, el('span', 'meta', `${f.size} B`));
    return li;
  }));
}

$('run').addEventListener('click', run);
$('new-session').addEventListener('click', newSession);
$('delete-session').addEventListener('click', async () => {
  if (!sessionId) return;
  await api(`api/sessions/${sessionId}`, { method: 'DELETE' });
  sessionId = null;
  await refreshSessions();
  await refreshFiles();
});
$('session').addEventListener('change', async (e) => { sessionId = e.target.value; await refreshFiles(); });
$('language').addEventListener('change', (e) => editor.setLanguage(e.target.value));
for (const b of document.querySelectorAll('[data-example]')) {
  b.addEventListener('click', () => {
    const ex = examples[b.dataset.example];
    $('language').value = ex.language;
    editor.setLanguage(ex.language);
    editor.value = ex.code;
    editor.focus();
  });
}
$('upload-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('upload');
  if (!input.files.length) return;
  await ensureSession();
  const form = new FormData();
  for (const f of input.files) form.append('file', f, f.name);
  await api(`api/sessions/${sessionId}/files`, { method: 'POST', body: form });
  input.value = '';
  await refreshFiles();
});
$('key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  apiKey = $('key-input').value.trim();
  sessionStorage.setItem('wasmbox-key', apiKey);
  $('key-prompt').hidden = true;
  await start();
});

async function start() {
  try {
    await refreshSessions();
    await refreshFiles();
  } catch (e) {
    $('status').textContent = e.message;
  }
}
start();
