/// <reference lib="dom" />
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MnemoClient } from '../dist/client/client.js';
import { MnemoError } from '../dist/errors.js';
import { hook, makeProject, recordedSession } from './helpers/claude.js';
import { cleanup, CLI, startDaemon, type DaemonProcess } from './helpers/daemon.js';
import { REPO } from './helpers/packs.js';
import { until } from './helpers/wait.js';

/**
 * `mnemo ui` in a real browser (issue 15): a real daemon in a temp MNEMO_HOME with memories and a session captured
 * through the native client, `mnemo ui` as its own process, and Debian's headless chromium driven by puppeteer-core.
 * Screenshots of each page go to test-artifacts/ui/ (git-ignored).
 */

function chromiumPath(): string | null {
  try {
    return execSync('command -v chromium || command -v chromium-browser', {
      encoding: 'utf8',
      shell: '/bin/sh',
    }).trim();
  } catch {
    return null;
  }
}
const CHROMIUM = chromiumPath();
if (!CHROMIUM)
  console.warn('ui.test.ts: no chromium in PATH, so the browser tests are skipped (`apt-get install chromium`)');

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');

/** A raw HTTP request, so the Host and Origin headers are exactly what a hostile page could make them. */
function raw(
  port: number,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe.skipIf(!CHROMIUM)('mnemo ui in a real browser', () => {
  let d: DaemonProcess;
  let c: MnemoClient;
  let ui: ChildProcess;
  let uiExit: Promise<number | null>;
  let url: URL;
  let token: string;
  let browser: Browser;
  let page: Page;
  const project = makeProject('shop-api');
  const hashes: Record<string, string> = {};

  const shot = async (name: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    // The first screen alone, small, for the README (docs/ui-search.png and docs/ui-session.png are copies of these).
    await page.screenshot({ path: join(ARTIFACTS, `${name}-small.png`) });
  };
  const goto = async (path: string) => {
    const res = await page.goto(new URL(path, url).href, { waitUntil: 'domcontentloaded' });
    expect(res?.status(), path).toBe(200);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    d = await startDaemon();
    c = await d.client();
    const stored = await c.storeBatch({
      memories: [
        { content: 'The payment webhook retries three times with exponential backoff', tags: ['payments', 'webhook'] },
        { content: 'Staging deploys run from the release branch every evening', tags: ['deploy'], type: 'note' },
        { content: 'We chose PostgreSQL over MySQL for the orders service', tags: ['decision'], type: 'decision' },
        { content: 'Old flaky test note that should be deleted', tags: ['flaky'] },
      ],
    });
    [hashes.webhook, hashes.deploy, hashes.decision, hashes.flaky] = stored.map((s) => s.hash) as [
      string,
      string,
      string,
      string,
    ];
    // A session as Claude Code's hooks deliver it, through the native client; its SessionStart is given the global
    // decision above.
    for (const [event, payload] of recordedSession('sess-ui-1', project)) {
      expect((await hook(d.env, event, payload)).code).toBe(0);
    }
    await until('the session summary', async () => {
      const l = await c.list({ project, type: 'session-summary' });
      return l.format === 'compact' && l.results.length === 1 ? true : undefined;
    });

    ui = spawn(process.execPath, [CLI, 'ui', '--no-open', '--port', '0'], {
      env: d.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    uiExit = new Promise((resolve) => ui.on('exit', (code) => resolve(code)));
    let out = '';
    ui.stdout!.on('data', (x) => (out += x));
    ui.stderr!.on('data', (x) => (out += x));
    const line = await until('the URL mnemo ui prints', () => {
      return new Promise<string | undefined>((resolve) => {
        const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
        resolve(m?.[0]);
      });
    });
    url = new URL(line);
    token = url.searchParams.get('token')!;

    const { launch } = await import('puppeteer-core');
    browser = await launch({
      executablePath: CHROMIUM!,
      headless: true,
      // As root (CI) chromium refuses to start sandboxed; /dev/shm is small in containers.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1000, height: 640 });
  });

  afterAll(async () => {
    await browser?.close();
    if (ui && ui.exitCode === null) ui.kill('SIGKILL');
    c?.close();
    await d?.stop();
    if (d) cleanup(d.env);
  });

  it('prints one URL with a token, and answers it with a cookie and the search page', async () => {
    expect(token.length).toBeGreaterThanOrEqual(32);
    await goto(url.href);
    expect(new URL(page.url()).pathname).toBe('/search');
    // The token left the address bar for a cookie.
    expect(page.url()).not.toContain(token);
  });

  it('finds a stored memory as the user types', async () => {
    await goto('/search');
    await page.type('input[name=q]', 'payment webhook');
    const item = `.result[data-hash="${hashes.webhook}"]`;
    // The page first lists the newest memories; the ranked results replace them once typing pauses.
    await page.waitForFunction(() => location.search.includes('q=payment+webhook'));
    await page.waitForSelector(item);
    expect(await page.$eval(`${item} .hash`, (a) => a.getAttribute('href'))).toBe(`/memory/${hashes.webhook}`);
    expect(await page.$eval(`${item} .preview`, (p) => p.textContent)).toContain('exponential backoff');
    expect(await page.$eval(`${item} .score`, (s) => s.textContent)).toMatch(/\d\.\d{3}/);
    await shot('search');
  });

  it('filters by type and tags', async () => {
    await goto('/search?type=decision');
    const shown = await page.$$eval('.result', (r) => r.map((x) => x.getAttribute('data-hash')));
    expect(shown).toEqual([hashes.decision]);
    await goto('/search?tags=deploy');
    expect(await page.$$eval('.result', (r) => r.map((x) => x.getAttribute('data-hash')))).toEqual([hashes.deploy]);
  });

  it('edits tags and type, and the change persists in the daemon', async () => {
    await goto(`/memory/${hashes.deploy}`);
    expect(await page.$eval('pre.content', (p) => p.textContent)).toContain('Staging deploys');
    await page.$eval('#edit input[name=tags]', (i) => (i.value = ''));
    await page.type('#edit input[name=tags]', 'deploy, staging, ops');
    await page.$eval('#edit input[name=type]', (i) => (i.value = ''));
    await page.type('#edit input[name=type]', 'runbook');
    await page.click('#edit button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#edit .status')?.textContent === 'saved');
    const m = await c.get({ hash: hashes.deploy! });
    expect(m.tags.sort()).toEqual(['deploy', 'ops', 'staging']);
    expect(m.type).toBe('runbook');
    await page.reload();
    expect(await page.$$eval('#tags-now .tag', (t) => t.map((x) => x.textContent))).toEqual([
      'deploy',
      'ops',
      'staging',
    ]);
    await shot('memory');
  });

  it('refuses a bad type with the daemon’s message and changes nothing', async () => {
    await goto(`/memory/${hashes.deploy}`);
    await page.$eval('#edit input[name=type]', (i) => (i.value = 'Not A Type!'));
    await page.click('#edit button[type=submit]');
    await page.waitForFunction(
      () =>
        /type/.test(document.querySelector('#edit .status')?.textContent ?? '') &&
        !/saving/.test(document.querySelector('#edit .status')?.textContent ?? ''),
    );
    expect((await c.get({ hash: hashes.deploy! })).type).toBe('runbook');
  });

  it('deletes after showing the dry run, and only that memory', async () => {
    const before = (await c.health()).memories;
    await goto(`/memory/${hashes.flaky}`);
    await page.click('#delete-preview');
    await page.waitForSelector('#delete-confirm:not([hidden])');
    const going = await page.$$eval('#delete-confirm .going li', (l) => l.map((x) => x.textContent));
    expect(going).toHaveLength(1);
    expect(going[0]).toContain(hashes.flaky!.slice(0, 8));
    expect(going[0]).toContain('Old flaky test note');
    // The preview deleted nothing.
    expect((await c.health()).memories).toBe(before);
    await shot('delete-preview');
    await page.click('#delete-go');
    await page.waitForFunction(() =>
      document.querySelector('section.danger .status')?.textContent?.includes('Moved 1'),
    );
    expect((await c.health()).memories).toBe(before - 1);
    const gone = await c.get({ hash: hashes.flaky! }).catch((e: MnemoError) => e);
    expect(gone).toBeInstanceOf(MnemoError);
    expect((gone as MnemoError).code).toBe('E_NOT_FOUND');
    for (const h of [hashes.webhook, hashes.deploy, hashes.decision]) expect((await c.get({ hash: h! })).hash).toBe(h);
  });

  it('shows the captured session: turns, tool events, observation, summary and what was injected', async () => {
    await goto('/sessions');
    expect(await page.$$eval('.session-item a', (a) => a.map((x) => x.getAttribute('href')))).toEqual([
      '/sessions/sess-ui-1',
    ]);
    await page.click('.session-item a');
    await page.waitForSelector('ol.turns');
    const turns = await page.$$eval('.turn', (t) => t.map((x) => x.textContent ?? ''));
    expect(turns).toHaveLength(2);
    expect(turns[0]).toContain('no such table memories');
    expect(await page.$$eval('#turn-1 table.tools tbody tr', (r) => r.length)).toBe(5);
    expect(await page.$eval('#turn-1 tr.error', (r) => r.textContent)).toContain('npx vitest run');
    expect(await page.$eval('#turn-1 .compressed pre', (p) => p.textContent)).toContain(
      'Tools: Bash×2, Read, Grep, Edit',
    );
    expect(await page.$eval('.summary pre', (p) => p.textContent)).toMatch(/^Session in shop-api:/);
    const injected = await page.$$eval('details.injection', (x) => x.map((i) => i.textContent ?? ''));
    expect(injected.some((t) => t.includes('SessionStart') && t.includes('PostgreSQL'))).toBe(true);
    await shot('session');
  });

  it('renders the health charts with data', async () => {
    await goto('/health');
    await page.waitForSelector('#chart-hooks[data-points]');
    const points = await page.$$eval('canvas[data-points]', (cs) =>
      Object.fromEntries(cs.map((x) => [x.id, Number(x.dataset.points)])),
    );
    expect(points['chart-timeline']).toBeGreaterThanOrEqual(1);
    expect(points['chart-types']).toBeGreaterThanOrEqual(3);
    expect(points['chart-tags']).toBeGreaterThanOrEqual(3);
    // Each hook event the session sent has its latency.
    expect(points['chart-hooks']).toBeGreaterThanOrEqual(4);
    expect(await page.$$eval('table.latency tbody tr', (r) => r.map((x) => x.firstElementChild?.textContent))).toEqual(
      expect.arrayContaining(['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'Stop']),
    );
    // Chart.js drew something: the canvas is not blank.
    const inked = await page.$eval('#chart-types', (cv) => {
      const x = (cv as HTMLCanvasElement).getContext('2d')!;
      const { data } = x.getImageData(0, 0, (cv as HTMLCanvasElement).width, (cv as HTMLCanvasElement).height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(500);
    expect(await page.$eval('#queue-counts', (p) => p.textContent)).toContain('done: 3');
    await shot('health');
  });

  it('refuses requests without the token, with a foreign Host, or cross-origin POSTs (403), harmlessly', async () => {
    const port = Number(url.port);
    const host = `127.0.0.1:${port}`;
    const cookie = `mnemo_ui_${port}=${token}`;
    expect((await raw(port, '/search', { headers: { Host: host } })).status).toBe(403);
    expect((await raw(port, '/search?token=wrong', { headers: { Host: host } })).status).toBe(403);
    expect((await raw(port, '/assets/app.js', { headers: { Host: host } })).status).toBe(403);
    // DNS rebinding: the right token, the right address, but the page's name is another site's.
    expect((await raw(port, `/search?token=${token}`, { headers: { Host: `evil.example:${port}` } })).status).toBe(403);
    expect((await raw(port, '/search', { headers: { Host: `evil.example:${port}`, Cookie: cookie } })).status).toBe(
      403,
    );
    // With the cookie, a GET is served.
    const ok = await raw(port, '/search', { headers: { Host: host, Cookie: cookie } });
    expect(ok.status).toBe(200);
    expect(ok.headers['server-timing']).toMatch(/^app;dur=\d/);
    // The token in the URL becomes an HttpOnly, SameSite=Strict cookie.
    const first = await raw(port, `/health?token=${token}`, { headers: { Host: host } });
    expect(first.status).toBe(303);
    expect(String(first.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);

    const before = await c.get({ hash: hashes.webhook! });
    const post = (headers: Record<string, string>, path = `/api/memory/${hashes.webhook}/delete`) =>
      raw(port, path, {
        method: 'POST',
        headers: { Host: host, Cookie: cookie, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ dryRun: false }),
      });
    expect((await post({ Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ Origin: `http://127.0.0.1:${port + 1}` })).status).toBe(403);
    expect((await post({})).status).toBe(403); // no Origin at all
    expect((await post({ Origin: 'http://evil.example' }, `/api/memory/${hashes.webhook}/update`)).status).toBe(403);
    // And a cross-site page in the browser: its fetch is refused the same way.
    const evil = await browser.newPage();
    await evil.goto('data:text/html,<p>elsewhere</p>');
    const status = await evil.evaluate(
      async (target: string) =>
        fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"dryRun":false}' })
          .then((r) => r.status)
          .catch(() => -1),
      new URL(`/api/memory/${hashes.webhook}/delete`, url).href,
    );
    expect(status).not.toBe(200);
    await evil.close();
    const after = await c.get({ hash: hashes.webhook! });
    expect({ ...after, accessCount: 0, lastAccessedAt: 0 }).toEqual({ ...before, accessCount: 0, lastAccessedAt: 0 });
    // A same-origin POST with a bad body is a typed 400, not a crash.
    const bad = await post({ Origin: `http://127.0.0.1:${port}` }, `/api/memory/${hashes.webhook}/update`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'E_BAD_ARGS' } });
  });

  it('stops cleanly on Ctrl-C', async () => {
    ui.kill('SIGINT');
    expect(await uiExit).toBe(0);
  });
});
