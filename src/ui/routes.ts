import type { MnemoClient } from '../client/client.js';
import { ErrorCode, MnemoError } from '../errors.js';
import type { ArgsOf } from '../protocol/ops.js';
import type { Html } from './html.js';
import { healthPage, memoryPage, notFoundPage, searchPage, searchResults, sessionPage, sessionsPage } from './pages.js';

export interface Reply {
  status: number;
  type?: string;
  headers?: Record<string, string>;
  body: string | Buffer;
}

export interface Request {
  method: string;
  url: URL;
  /** The JSON body of a POST (already checked to be an object), null for a GET. */
  body: Record<string, unknown> | null;
  client: () => Promise<MnemoClient>;
}

const page = (h: Html, status = 200): Reply => ({ status, body: h.value });
const json = (value: unknown): Reply => ({
  status: 200,
  type: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

/** The search form's fields, as the `search` (or, with no query, `list`) op's arguments. */
export function searchArgs(q: URLSearchParams): {
  query: string;
  args: Pick<ArgsOf<'search'>, 'project' | 'type' | 'tags' | 'time' | 'mode'>;
} {
  const value = (k: string) => {
    const v = q.get(k)?.trim();
    return v ? v : undefined;
  };
  const tags = value('tags')
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return {
    query: value('q') ?? '',
    args: {
      ...(value('project') ? { project: value('project') } : {}),
      ...(value('type') ? { type: value('type') } : {}),
      ...(tags?.length ? { tags } : {}),
      ...(value('time') ? { time: value('time') } : {}),
      ...(value('mode') ? { mode: value('mode') as 'hybrid' } : {}),
    },
  };
}

/** Runs the search the form describes: ranked for a query, else the newest memories matching the filters. */
async function runSearch(client: MnemoClient, q: URLSearchParams) {
  const { query, args } = searchArgs(q);
  const { mode, ...filter } = args;
  const limit = 25;
  if (query)
    return client.search({ query, ...filter, ...(mode ? { mode } : {}), limit, format: 'full', previewChars: 300 });
  return client.list({ ...filter, limit, format: 'full' });
}

/** Calls the daemon; a connection lost since the last request (the daemon restarted) is made again, once. */
async function withClient<T>(get: () => Promise<MnemoClient>, f: (c: MnemoClient) => Promise<T>): Promise<T> {
  try {
    return await f(await get());
  } catch (err) {
    if (err instanceof MnemoError && err.code === ErrorCode.CLOSED) return f(await get());
    throw err;
  }
}

const MEMORY = /^\/memory\/([0-9a-f]{6,64})$/;
const SESSION = /^\/sessions\/([^/]{1,200})$/;
const MEMORY_ACTION = /^\/api\/memory\/([0-9a-f]{6,64})\/(update|delete)$/;

export async function route(r: Request): Promise<Reply> {
  const path = r.url.pathname;
  const q = r.url.searchParams;
  return withClient(r.client, async (c) => {
    if (r.method === 'POST') {
      const body = r.body ?? {};
      const action = MEMORY_ACTION.exec(path);
      if (action) {
        const hash = action[1]!;
        if (action[2] === 'update') {
          // Only what the page edits; the daemon checks the values (a bad tag or type is a 400 naming it).
          const { tags, type } = body;
          return json(await c.update({ hash, tags: tags as string[], ...(type ? { type: type as string } : {}) }));
        }
        // The page asks for the dry run first and shows it; only `dryRun: false` deletes, and only this hash.
        return json(await c.delete({ hash, dryRun: body.dryRun !== false }));
      }
      if (path === '/api/compressions/retry') {
        const ids = body.ids as number[] | undefined;
        return json(await c.retryCompressions(ids ? { ids } : { all: true }));
      }
      return page(notFoundPage(path), 404);
    }
    if (path === '/') return { status: 303, headers: { Location: '/search' }, body: '' };
    if (path === '/search') {
      const [results, stats, hello] = await Promise.all([runSearch(c, q), c.stats(), c.hello()]);
      return page(searchPage(q, results, stats, hello, Date.now()));
    }
    if (path === '/search/results') return page(searchResults(await runSearch(c, q), Date.now()));
    const memory = MEMORY.exec(path);
    if (memory) return page(memoryPage(await c.get({ hash: memory[1]! }), Date.now()));
    if (path === '/sessions') {
      const project = q.get('project') || undefined;
      const offset = Number(q.get('offset') ?? 0) || 0;
      const list = await c.sessions({ limit: 50, offset, ...(project ? { project } : {}) });
      return page(sessionsPage(list, project ?? null, offset, Date.now()));
    }
    const session = SESSION.exec(path);
    if (session) return page(sessionPage(await c.session({ id: decodeURIComponent(session[1]!) }), Date.now()));
    if (path === '/health') {
      const [health, stats, timeline, metrics, tags] = await Promise.all([
        c.health(),
        c.stats(),
        c.timeline({ days: 90 }),
        c.metrics(),
        c.tags({ limit: 15 }),
      ]);
      return page(healthPage({ health, stats, timeline, metrics, tags }));
    }
    return page(notFoundPage(path), 404);
  });
}
