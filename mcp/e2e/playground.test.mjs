// The playground in a real headless Chromium (Debian's), driven by playwright-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, stopAll, proxyPeers } from './server.mjs';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
let url;
let browser;
let page;

before(async () => {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: install Debian's chromium package`);
  url = await startServer({});
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],  // launch() gives each run a new empty profile
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) external.push(r.url()); });
  page.external = external;
  await page.goto(url + '/');
  await page.waitForSelector('.cm-content');
}, { timeout: 300_000 });

after(async () => {
  await browser?.close();
  await stopAll();
});

async function setCode(language, code) {
  await page.selectOption('#language', language);
  await page.click('.cm-content');
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(code);
}

// wait bounds a hang, not speed: the first run in a new container also waits for the server to
// compile python.wasm and make its base image (about 27 s on 2 cores, more beside other work).
async function runAndWait(wait = 60_000) {
  const before = await page.locator('#output .run').count();
  await page.keyboard.press('ControlOrMeta+Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#output .run').length > n, before, { timeout: wait });
  return page.locator('#output .run').first();
}

test('runs Python and shows its output; state carries to the next run', { timeout: 300_000 }, async () => {
  await setCode('python', 'x = 6 * 7\nprint("answer", x)');
  let run = await runAndWait(240_000);
  assert.equal(await run.locator('pre.stdout').textContent(), 'answer 42\n');
  await setCode('python', 'x + 1');
  run = await runAndWait();
  assert.equal(await run.locator('pre.stdout').textContent(), '43\n');
});

test('a plot appears as an image', { timeout: 120_000 }, async () => {
  await page.click('[data-example=plot]');
  const run = await runAndWait();
  const img = run.locator('img');
  assert.equal(await img.count(), 1);
  const size = await img.evaluate((i) => i.decode().then(() => [i.naturalWidth, i.naturalHeight]));
  assert.deepEqual(size, [800, 400]);
  await page.screenshot({ path: process.env.PLAYGROUND_SCREENSHOT || join(tmpdir(), 'wasmbox-playground.png') });
});

test('an error is shown as an error', { timeout: 120_000 }, async () => {
  await setCode('python', '1/0');
  const run = await runAndWait();
  assert.match(await run.locator('pre.stderr').textContent(), /ZeroDivisionError/);
  assert.match(await run.locator('.error').textContent(), /^exception: ZeroDivisionError/);
  const color = await run.locator('pre.stderr').evaluate((e) => getComputedStyle(e).color);
  assert.notEqual(color, await run.locator('.meta').evaluate((e) => getComputedStyle(e).color));
});

test('an uploaded CSV is read from Python', { timeout: 120_000 }, async () => {
  const csv = join(mkdtempSync(join(tmpdir(), 'upload-')), 'scores.csv');
  writeFileSync(csv, 'name,score\nada,90\nbob,75\n');
  await page.setInputFiles('#upload', csv);
  await page.click('#upload-form button[type=submit]');
  await page.waitForSelector('#file-list li:has-text("scores.csv")');
  await setCode('python', "import csv\nrows = list(csv.DictReader(open('scores.csv')))\nprint(sum(int(r['score']) for r in rows))");
  const run = await runAndWait();
  assert.equal(await run.locator('pre.stdout').textContent(), '165\n');
});

test('switching to bash runs bash in the same workspace', { timeout: 120_000 }, async () => {
  await setCode('bash', 'wc -l < scores.csv; echo "lang=bash"');
  const run = await runAndWait();
  assert.equal(await run.locator('pre.stdout').textContent(), '3\nlang=bash\n');
  assert.match(await run.locator('.meta').textContent(), /^bash/);
});

test('the page made no requests beyond wasmbox and works at phone width', { timeout: 60_000 }, async () => {
  assert.deepEqual(page.external, []);
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(overflow, false, 'the page scrolls sideways at 390px');
  assert.ok(await page.locator('#run').isVisible());
});

test('with API keys configured the page asks for one and keeps it for the tab', { timeout: 120_000 }, async () => {
  const keyed = await startServer({ WASMBOX_API_KEYS: 'browser-key' });
  const p = await browser.newPage();
  await p.goto(keyed + '/');
  await p.waitForSelector('#key-prompt:not([hidden])');
  await p.fill('#key-input', 'browser-key');
  await p.click('#key-form button[type=submit]');
  await p.waitForSelector('#key-prompt', { state: 'hidden' });
  await p.click('.cm-content');
  await p.keyboard.press('ControlOrMeta+A');
  await p.keyboard.press('Delete');
  await p.keyboard.insertText('print("with key")');
  await p.keyboard.press('ControlOrMeta+Enter');
  await p.waitForSelector('#output .run pre.stdout');
  assert.equal(await p.locator('#output .run pre.stdout').first().textContent(), 'with key\n');
  assert.equal(await p.evaluate(() => sessionStorage.getItem('wasmbox-key')), 'browser-key');
  await p.close();
});

// Behind Debian's nginx under /prefix/ (as a reverse proxy serves it): the page, its assets
// and its API calls all resolve under the prefix, and a run works.
test('the playground works under /prefix/ behind nginx', { timeout: 180_000 }, async (t) => {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  if (!nginx) throw new Error('nginx is missing: install Debian\'s nginx-light package (.ci/run does)');
  const backend = await startServer({ WASMBOX_TRUSTED_PROXIES: proxyPeers(), WASMBOX_ALLOWED_HOSTS: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'nginx-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(join(dir, 'nginx.conf'), `user root;
worker_processes 1;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include /etc/nginx/mime.types;
  server {
    listen 127.0.0.1:${port};
    location /prefix/ {
      proxy_pass ${backend}/;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Prefix /prefix;
      proxy_buffering off;
    }
  }
}
`);
  // Its own process group, so its workers go with it.
  const proc = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore', detached: true });
  t.after(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } });
  const front = `http://127.0.0.1:${port}/prefix/`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(front + 'healthz')).ok) break; } catch { /* not up yet */ }
    if (i > 200) throw new Error('nginx did not come up');
    await new Promise((r) => setTimeout(r, 50));
  }
  const p = await browser.newPage();
  const outside = [];
  p.on('request', (r) => { if (!r.url().startsWith(front) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) outside.push(r.url()); });
  await p.goto(front);
  await p.waitForSelector('.cm-content');
  await p.click('.cm-content');
  await p.keyboard.press('ControlOrMeta+A');
  await p.keyboard.press('Delete');
  await p.keyboard.insertText('print("under a prefix")');
  await p.keyboard.press('ControlOrMeta+Enter');
  await p.waitForSelector('#output .run pre.stdout');
  assert.equal(await p.locator('#output .run pre.stdout').first().textContent(), 'under a prefix\n');
  assert.deepEqual(outside, [], 'requests left the prefix');
  await p.close();
});
