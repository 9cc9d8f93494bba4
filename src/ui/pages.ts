import { SEARCH_MODES } from '../protocol/ops.js';
import type {
  FullHit,
  Health,
  HelloResult,
  Injection,
  Listing,
  Memory,
  Metrics,
  SessionDetail,
  SessionList,
  Stats,
  TagCount,
  Timeline,
  ToolEvent,
} from '../protocol/results.js';
import { ago } from '../daemon/text.js';
import { html, jsonScript, type Html } from './html.js';

/** The pages, rendered on the server from daemon results; app.js adds search as you type, editing and the charts. */

const NAV = [
  ['/search', 'Search'],
  ['/sessions', 'Sessions'],
  ['/health', 'Health'],
] as const;

function layout(title: string, current: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · mnemo</title>
        <link rel="stylesheet" href="/assets/style.css" />
        <script src="/assets/app.js" defer></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/search">mnemo</a>
          <nav>
            ${NAV.map(
              ([href, name]) =>
                html`<a href="${href}" ${current === href ? html` aria-current="page"` : ''}>${name}</a>`,
            )}
          </nav>
        </header>
        <main>${body}</main>
      </body>
    </html>`;
}

const iso = (t: number | null) => (t === null ? '—' : new Date(t).toISOString().replace('T', ' ').slice(0, 19) + 'Z');
const time = (t: number, now: number) =>
  html`<time datetime="${new Date(t).toISOString()}" title="${iso(t)}">${ago(t, now)}</time>`;
const tagList = (tags: readonly string[]) =>
  html`<span class="tags">${tags.map((t) => html`<span class="tag">${t}</span>`)}</span>`;
const short = (hash: string) => hash.slice(0, 8);
const preview = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

// ---- Search ----

export function searchPage(q: URLSearchParams, results: Listing, stats: Stats, hello: HelloResult, now: number): Html {
  const v = (k: string) => q.get(k) ?? '';
  const projects = stats.byProject.flatMap((p) => (p.project ? [p.project] : []));
  const types = Object.keys(stats.byType);
  return layout(
    'Search',
    '/search',
    html`<form id="search" class="search" action="/search" method="get" role="search">
        <input
          type="search"
          name="q"
          value="${v('q')}"
          placeholder="Search memories (empty: newest first)"
          autofocus
          autocomplete="off"
        />
        <select name="mode" title="ranking">
          ${SEARCH_MODES.map((m) => html`<option${v('mode') === m ? html` selected` : ''}>${m}</option>`)}
        </select>
        <select name="project" title="project">
          <option value="">all projects</option>
          ${projects.map((p) => html`<option value="${p}" ${v('project') === p ? html` selected` : ''}>${p}</option>`)}
        </select>
        <select name="type" title="type">
          <option value="">any type</option>
          ${types.map((t) => html`<option${v('type') === t ? html` selected` : ''}>${t}</option>`)}
        </select>
        <input name="tags" value="${v('tags')}" placeholder="tags, comma separated" size="16" />
        <input name="time" value="${v('time')}" placeholder="time: last week, since monday…" size="16" />
        <button type="submit">Search</button>
      </form>
      <p class="muted">
        ${stats.memories} ${stats.memories === 1 ? 'memory' : 'memories'} · model ${hello.model?.name ?? hello.state}
      </p>
      <div id="results">${searchResults(results, now)}</div>`,
  );
}

/** The results block alone: what the page swaps in as the user types. */
export function searchResults(results: Listing, now: number): Html {
  const notice = results.notice ? html`<p class="notice" role="status">${results.notice}</p>` : '';
  if (results.format !== 'full') return html`${notice}`;
  if (results.results.length === 0)
    return html`${notice}
      <p class="empty">No memories match.</p>`;
  return html`${notice}
    <ol class="results">
      ${results.results.map((m) => resultItem(m, now))}
    </ol>`;
}

function resultItem(m: FullHit, now: number): Html {
  const ranked = m.scores.semantic !== undefined || m.scores.keyword !== undefined;
  const score = ranked
    ? html`<span class="score" title="fused score (semantic / keyword)"
        >${m.score.toFixed(3)}${
          m.scores.semantic !== undefined ? html` <small>sem ${m.scores.semantic.toFixed(2)}</small>` : ''
        }${m.scores.keyword !== undefined ? html` <small>kw ${m.scores.keyword.toFixed(2)}</small>` : ''}</span
      >`
    : '';
  return html`<li class="result" data-hash="${m.hash}">
    <div class="meta">
      <a class="hash" href="/memory/${m.hash}">${short(m.hash)}</a> <span class="type">${m.type}</span> ${time(
        m.createdAt,
        now,
      )}
      ${tagList(m.tags)} ${score}
    </div>
    <div class="preview">${preview(m.content, 300)}</div>
  </li>`;
}

// ---- Memory ----

export function memoryPage(m: Memory, now: number): Html {
  return layout(
    `Memory ${short(m.hash)}`,
    '/search',
    html`<article class="memory" data-hash="${m.hash}">
      <h1>Memory <code>${short(m.hash)}</code> <span class="type">${m.type}</span></h1>
      <pre class="content">${m.content}</pre>
      <dl class="facts">
        <dt>hash</dt>
        <dd><code>${m.hash}</code></dd>
        <dt>project</dt>
        <dd>${m.project ?? '—'}</dd>
        <dt>session</dt>
        <dd>${m.sessionId ? html`<a href="/sessions/${encodeURIComponent(m.sessionId)}">${m.sessionId}</a>` : '—'}</dd>
        <dt>created</dt>
        <dd>${iso(m.createdAt)} (${ago(m.createdAt, now)})</dd>
        <dt>updated</dt>
        <dd>${iso(m.updatedAt)}</dd>
        <dt>last accessed</dt>
        <dd>${iso(m.lastAccessedAt)}</dd>
        <dt>access count</dt>
        <dd id="access-count">${m.accessCount}</dd>
        <dt>tags</dt>
        <dd id="tags-now">${tagList(m.tags)}</dd>
      </dl>
      <details class="metadata" ${Object.keys(m.metadata).length ? html` open` : ''}>
        <summary>metadata</summary>
        <pre>${JSON.stringify(m.metadata, null, 2)}</pre>
      </details>
      <form id="edit" class="edit">
        <h2>Edit</h2>
        <label>tags <input name="tags" value="${m.tags.join(', ')}" size="40" /></label>
        <label>type <input name="type" value="${m.type}" size="16" /></label>
        <button type="submit">Save</button>
        <span class="status" role="status"></span>
      </form>
      <section class="danger">
        <h2>Delete</h2>
        <button type="button" id="delete-preview">Delete…</button>
        <div id="delete-confirm" hidden>
          <p class="what"></p>
          <ul class="going"></ul>
          <button type="button" id="delete-go" class="danger">Move to trash</button>
          <button type="button" id="delete-cancel">Cancel</button>
        </div>
        <p class="status" role="status"></p>
      </section>
    </article>`,
  );
}

// ---- Sessions ----

export function sessionsPage(list: SessionList, project: string | null, offset: number, now: number): Html {
  const next = offset + list.sessions.length;
  const link = (p: string | null, o = 0) =>
    '/sessions?' +
    new URLSearchParams({ ...(p ? { project: p } : {}), ...(o ? { offset: String(o) } : {}) }).toString();
  return layout(
    'Sessions',
    '/sessions',
    html`<h1>Sessions${project ? html` in <code>${project}</code>` : ''}</h1>
      <div class="columns">
        <aside class="projects">
          <h2>Projects</h2>
          <ul>
            <li><a href="/sessions" ${project === null ? html` aria-current="page"` : ''}>all</a></li>
            ${list.projects.map(
              (p) =>
                html`<li>
                  <a href="${link(p.project)}" ${project === p.project ? html` aria-current="page"` : ''}
                    >${p.project.split('/').at(-1)}</a
                  >
                  <small>${p.sessions} · ${ago(p.lastEventAt, now)}</small>
                </li>`,
            )}
          </ul>
        </aside>
        <section>
          ${
            list.sessions.length === 0
              ? html`<p class="empty">
                  No captured sessions yet. <code>mnemo hooks install</code> captures Claude Code sessions.
                </p>`
              : html`<ol class="timeline">
                    ${list.sessions.map(
                      (s) =>
                        html`<li class="session-item">
                          <a href="/sessions/${encodeURIComponent(s.id)}"><code>${s.id.slice(0, 12)}</code></a>
                          <span class="status-${s.status}">${s.status}</span>
                          <span>${s.prompts} turns, ${s.toolEvents} tool events</span>
                          <span class="muted"
                            >${s.project.split('/').at(-1)} · started ${iso(s.startedAt)} · last
                            ${ago(s.lastEventAt, now)}</span
                          >
                        </li>`,
                    )}
                  </ol>
                  <p class="muted">
                    ${list.total}
                    sessions${next < list.total ? html` · <a href="${link(project, next)}">older</a>` : ''}
                  </p>`
          }
        </section>
      </div>`,
  );
}

function toolRow(e: ToolEvent): Html {
  return html`<tr class="${e.isError ? 'error' : ''}">
    <td>${e.toolName}</td>
    <td>${e.inputSummary}</td>
    <td>${e.outcomeSummary}</td>
    <td>${[...e.filesChanged.map((f) => `✎ ${f}`), ...e.filesRead.map((f) => f)].join(', ')}</td>
    <td class="num">${e.durationMs === null ? '' : `${e.durationMs} ms`}</td>
  </tr>`;
}

function injectionBlock(i: Injection, now: number): Html {
  return html`<details class="injection" open>
    <summary>
      Injected at ${i.event} (${i.hashes.length} ${i.hashes.length === 1 ? 'memory' : 'memories'}, ${time(i.at, now)})
    </summary>
    <pre>${injectedText(i.text)}</pre>
    <p>${i.hashes.map((h) => html`<a class="hash" href="/memory/${h}">${short(h)}</a> `)}</p>
  </details>`;
}

/** The text the agent read: the additionalContext inside the hook's JSON output. */
function injectedText(out: string): string {
  try {
    const parsed = JSON.parse(out) as { hookSpecificOutput?: { additionalContext?: string } };
    return parsed.hookSpecificOutput?.additionalContext ?? out;
  } catch {
    return out;
  }
}

function memoryBlock(label: string, m: Memory | null, pending: string): Html {
  if (!m) return html`<p class="muted">${pending}</p>`;
  return html`<div class="compressed">
    <h4>${label} <a class="hash" href="/memory/${m.hash}">${short(m.hash)}</a> ${tagList(m.tags)}</h4>
    <pre>${m.content}</pre>
  </div>`;
}

export function sessionPage(d: SessionDetail, now: number): Html {
  const s = d.session;
  const atStart = d.injections.filter((i) => i.event === 'SessionStart');
  return layout(
    `Session ${s.id.slice(0, 12)}`,
    '/sessions',
    html`<h1>Session <code>${s.id}</code></h1>
      <dl class="facts">
        <dt>project</dt>
        <dd><a href="/sessions?${new URLSearchParams({ project: s.project }).toString()}">${s.project}</a></dd>
        <dt>status</dt>
        <dd class="status-${s.status}">${s.status}${s.endReason ? ` (${s.endReason})` : ''}</dd>
        <dt>started</dt>
        <dd>${iso(s.startedAt)} (${s.source ?? 'unknown source'})</dd>
        <dt>last event</dt>
        <dd>${iso(s.lastEventAt)}</dd>
        <dt>model</dt>
        <dd>${s.model ?? '—'}</dd>
      </dl>
      ${atStart.map((i) => injectionBlock(i, now))}
      <ol class="turns">
        ${d.turns.map(
          (t) =>
            html`<li class="turn" id="turn-${t.number}">
              <h3>Turn ${t.number} <small>${time(t.at, now)}</small></h3>
              <blockquote class="prompt">${t.prompt}</blockquote>
              ${d.injections
                .filter((i) => i.event === 'UserPromptSubmit' && i.promptNumber === t.number)
                .map((i) => injectionBlock(i, now))}
              ${
                t.tools.length
                  ? html`<table class="tools">
                      <thead>
                        <tr>
                          <th>tool</th>
                          <th>input</th>
                          <th>outcome</th>
                          <th>files</th>
                          <th>time</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${t.tools.map(toolRow)}
                      </tbody>
                    </table>`
                  : html`<p class="muted">no tool events</p>`
              }
              ${t.lastAssistantMessage ? html`<p class="assistant">${preview(t.lastAssistantMessage, 600)}</p>` : ''}
              ${memoryBlock(
                'Observation',
                t.observation,
                t.compression?.status === 'parked'
                  ? `compression parked: ${t.compression.error ?? ''}`
                  : t.compression
                    ? `compression ${t.compression.status}`
                    : 'not compressed yet (the turn is still open)',
              )}
            </li>`,
        )}
      </ol>
      <section class="summary">
        <h2>Session summary</h2>
        ${memoryBlock('Summary', d.summary, 'no summary yet (made when the session ends)')}
      </section>`,
  );
}

// ---- Health ----

export interface HealthData {
  health: Health;
  stats: Stats;
  timeline: Timeline;
  metrics: Metrics;
  tags: TagCount[];
}

export function healthPage(d: HealthData): Html {
  const { health, stats, metrics } = d;
  const vectorsTotal = health.vectors.current + health.vectors.missing;
  const coverage = vectorsTotal === 0 ? 1 : health.vectors.current / vectorsTotal;
  const charts = {
    timeline: d.timeline,
    types: stats.byType,
    projects: stats.byProject.map((p) => ({ label: p.project?.split('/').at(-1) ?? '(none)', count: p.count })),
    tags: d.tags.map((t) => ({ label: t.tag, count: t.count })),
    hooks: metrics.hooksMs,
  };
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return layout(
    'Health',
    '/health',
    html`<h1>Health <span class="badge ${health.status}">${health.status}</span></h1>
      ${health.warnings.map((w) => html`<p class="notice">${w}</p>`)}
      <div class="cards">
        <div class="card"><b>${health.memories}</b> ${health.memories === 1 ? 'memory' : 'memories'}</div>
        <div class="card"><b>${(health.dbBytes / 1048576).toFixed(1)} MiB</b> database</div>
        <div class="card"><b>${health.model.name}</b> ${health.model.dimension} dimensions</div>
        <div class="card" id="coverage">
          <b>${pct(coverage)}</b> with a vector (${health.vectors.missing} to reindex)<meter
            min="0"
            max="1"
            value="${coverage}"
          ></meter>
        </div>
      </div>
      ${jsonScript('chart-data', charts)}
      <section>
        <h2>Memories over the last 90 days</h2>
        <div class="chart wide"><canvas id="chart-timeline"></canvas></div>
        <p class="muted">${d.timeline.before} created before.</p>
      </section>
      <div class="grid">
        <section>
          <h2>By type</h2>
          <div class="chart"><canvas id="chart-types"></canvas></div>
        </section>
        <section>
          <h2>By project</h2>
          <div class="chart"><canvas id="chart-projects"></canvas></div>
        </section>
        <section>
          <h2>By tag</h2>
          <div class="chart"><canvas id="chart-tags"></canvas></div>
        </section>
        <section>
          <h2>Hook latency (ms)</h2>
          <div class="chart"><canvas id="chart-hooks"></canvas></div>
          <table class="latency">
            <thead>
              <tr>
                <th>event</th>
                <th>count</th>
                <th>p50</th>
                <th>p95</th>
                <th>p99</th>
              </tr>
            </thead>
            <tbody>
              ${Object.entries(metrics.hooksMs).map(
                ([event, p]) =>
                  html`<tr>
                    <td>${event}</td>
                    <td class="num">${p.count}</td>
                    <td class="num">${p.p50.toFixed(1)}</td>
                    <td class="num">${p.p95.toFixed(1)}</td>
                    <td class="num">${p.p99.toFixed(1)}</td>
                  </tr>`,
              )}
              <tr class="muted">
                <td>all requests</td>
                <td class="num">${metrics.requestsMs.count}</td>
                <td class="num">${metrics.requestsMs.p50.toFixed(1)}</td>
                <td class="num">${metrics.requestsMs.p95.toFixed(1)}</td>
                <td class="num">${metrics.requestsMs.p99.toFixed(1)}</td>
              </tr>
            </tbody>
          </table>
        </section>
      </div>
      <section class="queue">
        <h2>Compression queue</h2>
        <p id="queue-counts">
          ${
            Object.entries(metrics.queue).length === 0
              ? 'empty'
              : Object.entries(metrics.queue)
                  .map(([k, n]) => `${k}: ${n}`)
                  .join(' · ')
          }
        </p>
        ${
          metrics.parked.length === 0
            ? html`<p class="muted">Nothing parked.</p>`
            : html`<table class="parked">
                  <thead>
                    <tr>
                      <th>kind</th>
                      <th>session</th>
                      <th>turn</th>
                      <th>attempts</th>
                      <th>error</th>
                      <th></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${metrics.parked.map(
                      (p) =>
                        html`<tr data-id="${p.id}">
                          <td>${p.kind}</td>
                          <td>
                            <a href="/sessions/${encodeURIComponent(p.sessionId)}">${p.sessionId.slice(0, 12)}</a>
                          </td>
                          <td class="num">${p.promptNumber}</td>
                          <td class="num">${p.attempts}</td>
                          <td>${p.error}</td>
                          <td><button type="button" class="retry" data-id="${p.id}">Retry</button></td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
                <button type="button" class="retry" data-all="1">Retry all</button>`
        }
        <p class="status" role="status"></p>
      </section>
      <p class="muted">
        mnemo ${health.version} · schema ${health.schemaVersion} · SQLite ${health.sqlite} · sqlite-vec
        ${health.sqliteVec} · ${health.dbPath}
      </p>`,
  );
}

export function notFoundPage(path: string): Html {
  return layout(
    'Not found',
    '',
    html`<h1>Not found</h1>
      <p>Nothing at <code>${path}</code>.</p>`,
  );
}

export function errorPage(status: number, code: string, message: string): Html {
  return layout(
    'Error',
    '',
    html`<h1>${status === 404 ? 'Not found' : 'Error'}</h1>
      <p class="notice"><code>${code}</code> ${message}</p>`,
  );
}
