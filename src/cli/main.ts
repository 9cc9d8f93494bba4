#!/usr/bin/env node
/**
 * The `mnemo` command. A small switch over subcommands; everything that touches memories goes to the daemon through
 * the client, and the daemon renders the human text. Only `daemon` and `start --foreground` load the engine (lazily).
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { connect, MnemoClient, startDaemonProcess, socketPathFor } from '../client/client.js';
import { ErrorCode, MnemoError } from '../errors.js';
import { resolvePaths } from '../paths.js';
import { unsupportedNode } from '../node-support.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

const HELP = `mnemo — long-term memory for AI coding agents

usage: mnemo <command> [options]            every command takes --json

daemon
  start [--foreground] [--model M] [--threads N] [--pull]   start the daemon (waits until the model is warm)
  stop | restart | status                            stop, restart, or describe the running daemon
  doctor                                             check paths, permissions, native client, model, daemon

models
  model list | info [name] | use <name|path|auto>   which embedding model, and switching it
  model pull [name] [--force]                        download all-MiniLM-L6-v2 (pinned, checksummed, resumable)
  model build offline                                build the no-network pack from bundled word vectors
  reindex [--batch N]                                re-embed memories after a model switch (resumable)

agents and system
  mcp                                                a stdio MCP server (store_memory, retrieve_memory, memory_search, ...)
  service install|uninstall|status [--print]          the daemon as a systemd user service (socket-activated) or launchd agent

memories
  store <text> | -  [-t TAG]... [--type T] [--project P] [--metadata JSON]
  search <query> [--mode hybrid|semantic|keyword] [--limit N] [--project P] [-t TAG]... [--all-tags]
                 [--type T] [--since DATE] [--until DATE] [--time EXPR] [--min-score X] [--full]
  recall <time expression> [query] [--limit N]       e.g. mnemo recall "last week" auth
  get <hash>                                         a memory by hash or unique prefix (6+ characters)
  update <hash> [-t TAG]... [--add-tag T]... [--remove-tag T]... [--type T] [--metadata JSON]
  delete [<hash>...] [-t TAG]... [--since D] [--until D] [--time EXPR] [--project P] [--type T] [--dry-run]
  tags [--project P]
  list [--project P] [--session ID] [-t TAG]... [--type T] [--time EXPR] [--limit N]   newest first
  hooks install|uninstall|status [--scope project|user] [--project DIR]   Claude Code hooks
  export [--output FILE]                             all memories as JSON lines
  import <file | ->                                  JSON lines from export (idempotent)
  import --from mcp-memory-service|claude-mem <db> [--dry-run]   memories from a peer tool's SQLite database
`;

const COMMON: ParseArgsConfig['options'] = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const FILTERS: ParseArgsConfig['options'] = {
  project: { type: 'string' },
  tag: { type: 'string', short: 't', multiple: true },
  'all-tags': { type: 'boolean' },
  type: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  time: { type: 'string' },
  limit: { type: 'string', short: 'n' },
};

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const unsupported = unsupportedNode();
  if (unsupported) {
    process.stderr.write(`mnemo: ${unsupported}\n`);
    return 1;
  }
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command ? 0 : 1;
  }
  if (command === '--version' || command === 'version') {
    const { VERSION } = await import('../version.js');
    process.stdout.write(`mnemo ${VERSION} (protocol ${PROTOCOL_VERSION})\n`);
    return 0;
  }
  switch (command) {
    case 'daemon':
      return runDaemonProcess(rest);
    case 'start':
      return start(rest);
    case 'stop':
      return stop(rest);
    case 'restart': {
      const code = await stop(rest.filter((a) => a === '--json'), true);
      return code === 0 ? start(rest) : code;
    }
    case 'status':
      return status(rest);
    case 'doctor': {
      const { values } = parse(rest, {});
      const { doctor } = await import('./doctor.js');
      return doctor(Boolean(values.json));
    }
    case 'store':
      return storeCmd(rest);
    case 'search':
      return searchCmd(rest);
    case 'recall':
      return recallCmd(rest);
    case 'get':
      return getCmd(rest);
    case 'update':
      return updateCmd(rest);
    case 'delete':
      return deleteCmd(rest);
    case 'tags':
      return tagsCmd(rest);
    case 'list':
      return listCmd(rest);
    case 'hooks':
      return hooksCmd(rest);
    case 'model':
      return modelCmd(rest);
    case 'reindex':
      return reindexCmd(rest);
    case 'service':
      return serviceCmd(rest);
    case 'mcp': {
      // stdio belongs to the MCP protocol from here on; the server runs until its client closes stdin.
      const { runMcpServer } = await import('../mcp/server.js');
      await runMcpServer();
      return new Promise<number>(() => {});
    }
    case 'export':
      return exportCmd(rest);
    case 'import':
      return importCmd(rest);
    default:
      throw new UsageError(`unknown command '${command}'; run \`mnemo help\``);
  }
}

function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

// ---- daemon lifecycle ----

/** Runs the daemon in this process (`mnemo daemon`, `mnemo start --foreground`). */
async function launchDaemon(values: Values) {
  const { startDaemon } = await import('../daemon/daemon.js');
  return startDaemon({
    ownProcess: true,
    ...(typeof values.model === 'string' ? { modelDir: values.model } : {}),
    ...(typeof values.threads === 'string' ? { threads: intOption('threads', values.threads) } : {}),
  });
}

async function runDaemonProcess(args: string[]): Promise<number> {
  const { values } = parse(args, { model: { type: 'string' }, threads: { type: 'string' } });
  const daemon = await launchDaemon(values);
  try {
    await daemon.ready;
  } catch {
    // Stay down rather than serve E_NOT_READY forever; the reason is in the log and in `mnemo start`'s output.
    process.exitCode = 1;
    await daemon.stop();
    return 1;
  }
  await daemon.stopped;
  return 0;
}

async function start(args: string[]): Promise<number> {
  const { values } = parse(args, {
    foreground: { type: 'boolean' },
    model: { type: 'string' },
    threads: { type: 'string' },
    pull: { type: 'boolean' },
  });
  const json = Boolean(values.json);
  if (values.pull) {
    // The only way `start` touches the network: asked for.
    const { pull } = await import('./model.js');
    await pull(undefined, { json, force: false });
  }
  const running = await tryConnect();
  if (running) {
    const hello = await running.hello();
    running.close();
    say(json, { running: true, alreadyRunning: true, ...hello }, `mnemo is already running (pid ${hello.pid}, ${hello.state})`);
    return 0;
  }
  const extra: string[] = [];
  if (typeof values.model === 'string') extra.push('--model', values.model);
  if (typeof values.threads === 'string') extra.push('--threads', values.threads);
  if (values.foreground) {
    const began = performance.now();
    const daemon = await launchDaemon(values);
    try {
      await daemon.ready;
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    process.stderr.write(`mnemo ready in ${Math.round(performance.now() - began)} ms on ${daemon.files.socket} (Ctrl-C stops)\n`);
    await daemon.stopped;
    return 0;
  }
  const began = performance.now();
  const pid = startDaemonProcess(process.env, extra);
  const tty = process.stderr.isTTY && !json;
  const deadline = Date.now() + 60_000;
  let client: MnemoClient | null = null;
  while (!client) {
    try {
      client = await connect({
        waitReady: true,
        startTimeoutMs: Math.max(1, deadline - Date.now()),
        connectTimeoutMs: 500,
        onWait: (state) => {
          if (tty) process.stderr.write(`\r${state}…`.padEnd(40));
        },
      });
    } catch (err) {
      const stillStarting = (err as MnemoError).code === ErrorCode.CLOSED && pid !== undefined && alive(pid);
      if (!stillStarting || Date.now() > deadline) {
        if (tty) process.stderr.write('\r'.padEnd(41) + '\r');
        const out = join(resolvePaths().logDir, 'daemon.out');
        const tail = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
        throw new MnemoError(
          (err as MnemoError).code ?? ErrorCode.INTERNAL,
          `the daemon did not start: ${(err as Error).message}${tail ? ` — ${tail}` : ''} (logs: ${resolvePaths().logDir})`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (tty) process.stderr.write('\r'.padEnd(41) + '\r');
  const hello = await client.hello();
  client.close();
  const ms = Math.round(performance.now() - began);
  say(json, { running: true, startedMs: ms, ...hello }, `mnemo started (pid ${hello.pid}, model ${hello.model?.name}, ready in ${ms} ms)`);
  return 0;
}

async function stop(args: string[], quietIfDown = false): Promise<number> {
  const { values } = parse(args, {});
  const json = Boolean(values.json);
  const client = await tryConnect();
  if (!client) {
    if (!quietIfDown) say(json, { running: false }, 'mnemo is not running');
    return 0;
  }
  const { pid } = await client.hello();
  await client.shutdown().catch(() => {});
  client.close();
  for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) throw new MnemoError(ErrorCode.TIMEOUT, `the daemon (pid ${pid}) did not stop within 15 s`);
  if (!quietIfDown || json) say(json, { running: false, stopped: pid }, `mnemo stopped (pid ${pid})`);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { values } = parse(args, {});
  const json = Boolean(values.json);
  const client = await tryConnect();
  if (!client) {
    say(json, { running: false, socket: socketPathFor() }, `mnemo is not running (no daemon on ${socketPathFor()})`);
    return 3;
  }
  try {
    if (json) print({ running: true, ...(await client.status()) });
    else print(await client.request<string>('status', {}, { render: 'text' }));
    return 0;
  } finally {
    client.close();
  }
}

// ---- memories ----

async function storeCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    tag: { type: 'string', short: 't', multiple: true },
    type: { type: 'string' },
    project: { type: 'string' },
    metadata: { type: 'string' },
  });
  let content = positionals.join(' ');
  if (content === '' || content === '-') {
    if (process.stdin.isTTY) throw new UsageError('give the text to store, or pipe it in: echo "..." | mnemo store -');
    content = await readStdin();
  }
  return daemonCall(values, 'store', {
    content,
    ...(values.tag ? { tags: values.tag } : {}),
    ...(typeof values.type === 'string' ? { type: values.type } : {}),
    ...(typeof values.project === 'string' ? { project: values.project } : {}),
    ...(typeof values.metadata === 'string' ? { metadata: jsonOption('metadata', values.metadata) } : {}),
  });
}

function filterArgs(values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof values.project === 'string') out.project = values.project;
  if (Array.isArray(values.tag)) out.tags = values.tag;
  if (values['all-tags']) out.tagMode = 'all';
  if (typeof values.type === 'string') out.type = values.type;
  if (typeof values.since === 'string') out.since = values.since;
  if (typeof values.until === 'string') out.until = values.until;
  if (typeof values.time === 'string') out.time = values.time;
  if (typeof values.limit === 'string') out.limit = intOption('limit', values.limit);
  return out;
}

async function searchCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...FILTERS,
    mode: { type: 'string' },
    'min-score': { type: 'string' },
    full: { type: 'boolean' },
    budget: { type: 'string' },
  });
  const query = positionals.join(' ');
  if (!query) throw new UsageError('give a query: mnemo search "what we decided about logging"');
  const a: Record<string, unknown> = { query, ...filterArgs(values) };
  if (typeof values.mode === 'string') a.mode = values.mode;
  if (typeof values['min-score'] === 'string') a.minScore = Number(values['min-score']);
  if (values.full) a.format = 'full';
  if (typeof values.budget === 'string') {
    a.format = 'text';
    a.budget = intOption('budget', values.budget);
  }
  return daemonCall(values, 'search', a);
}

async function recallCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...FILTERS, mode: { type: 'string' } });
  const [time, ...query] = positionals;
  if (!time) throw new UsageError('give a time: mnemo recall "last week" [query]');
  const a: Record<string, unknown> = { ...filterArgs(values), time };
  if (query.length > 0) a.query = query.join(' ');
  if (typeof values.mode === 'string') a.mode = values.mode;
  return daemonCall(values, 'recall', a);
}

async function getCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (positionals.length !== 1) throw new UsageError('give one hash: mnemo get a1b2c3d4');
  return daemonCall(values, 'get', { hash: positionals[0] });
}

async function updateCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    tag: { type: 'string', short: 't', multiple: true },
    'add-tag': { type: 'string', multiple: true },
    'remove-tag': { type: 'string', multiple: true },
    type: { type: 'string' },
    metadata: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('give one hash: mnemo update a1b2c3d4 --add-tag important');
  const a: Record<string, unknown> = { hash: positionals[0] };
  if (values.tag) a.tags = values.tag;
  if (values['add-tag']) a.addTags = values['add-tag'];
  if (values['remove-tag']) a.removeTags = values['remove-tag'];
  if (typeof values.type === 'string') a.type = values.type;
  if (typeof values.metadata === 'string') a.metadata = jsonOption('metadata', values.metadata);
  return daemonCall(values, 'update', a);
}

async function deleteCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...FILTERS, 'dry-run': { type: 'boolean' } });
  const a: Record<string, unknown> = { ...filterArgs(values) };
  delete a.limit;
  if (positionals.length > 0) a.hashes = positionals;
  if (values['dry-run']) a.dryRun = true;
  return daemonCall(values, 'delete', a);
}

async function listCmd(args: string[]): Promise<number> {
  const { values } = parse(args, { ...FILTERS, session: { type: 'string' }, full: { type: 'boolean' } });
  const a: Record<string, unknown> = { ...filterArgs(values) };
  if (typeof values.session === 'string') a.sessionId = values.session;
  if (values.full) a.format = 'full';
  return daemonCall(values, 'list', a);
}

async function modelCmd(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parse(rest, { force: { type: 'boolean' }, vocab: { type: 'string' } });
  const json = Boolean(values.json);
  const m = await import('./model.js');
  switch (action) {
    case 'pull':
      return m.pull(positionals[0], { json, force: Boolean(values.force) });
    case 'build':
      if (positionals[0] !== 'offline') throw new UsageError('usage: mnemo model build offline [--vocab N]');
      return m.buildOffline({ json, ...(typeof values.vocab === 'string' ? { vocab: intOption('vocab', values.vocab) } : {}) });
    case 'list':
    case undefined:
      return m.list(json);
    case 'info':
      return m.info(positionals[0], json);
    case 'use':
      if (!positionals[0]) throw new UsageError('usage: mnemo model use <name | path | auto | offline>');
      return m.use(positionals[0], json);
    default:
      throw new UsageError('usage: mnemo model list | info [name] | pull [name] | build offline | use <name>');
  }
}

async function serviceCmd(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parse(rest, { print: { type: 'boolean' }, 'no-enable': { type: 'boolean' }, dir: { type: 'string' } });
  const json = Boolean(values.json);
  const svc = await import('./service.js');
  const dir = typeof values.dir === 'string' ? { dir: values.dir } : {};
  switch (action) {
    case 'install': {
      if (values.print) {
        const units = svc.renderUnits();
        say(json, units, Object.entries(units.files).map(([name, text]) => `# ${join(units.dir, name)}\n${text}`).join('\n'));
        return 0;
      }
      const r = svc.installService({ enable: !values['no-enable'], ...dir });
      say(json, r, r.message);
      return 0;
    }
    case 'uninstall': {
      const r = svc.uninstallService(dir);
      say(json, r, r.message);
      return 0;
    }
    case 'status': {
      const r = svc.serviceStatus();
      say(json, r, `${r.platform}: ${r.installed ? 'installed' : 'not installed'}; ${r.state}`);
      return 0;
    }
    default:
      throw new UsageError('usage: mnemo service install [--print | --no-enable [--dir DIR]] | uninstall | status');
  }
}

async function reindexCmd(args: string[]): Promise<number> {
  const { values } = parse(args, { batch: { type: 'string' } });
  const json = Boolean(values.json);
  const batch = typeof values.batch === 'string' ? intOption('batch', values.batch) : 64;
  const client = await connect({ autostart: true, onWait: waitNotice });
  const { Progress } = await import('./progress.js');
  let progress: InstanceType<typeof Progress> | null = null;
  let done = 0;
  try {
    for (;;) {
      // Each call embeds one batch; the work left is whatever still has no vector, so an interrupted reindex resumes.
      const r = await client.reindex(batch);
      done += r.reindexed;
      progress ??= new Progress('reindex', r.total, 'items', json);
      progress.update(r.total - r.remaining, r.total);
      if (r.remaining === 0 || r.reindexed === 0) {
        progress.done();
        say(json, { ...r, reindexed: done }, r.remaining === 0 ? `re-embedded ${done} memories with ${r.model}; semantic search is on${r.dropped.length ? ` (dropped the vectors of ${r.dropped.join(', ')})` : ''}` : `stopped with ${r.remaining} memories left`);
        return r.remaining === 0 ? 0 : 1;
      }
    }
  } finally {
    client.close();
  }
}

async function hooksCmd(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parse(rest, { scope: { type: 'string' }, project: { type: 'string' } });
  const json = Boolean(values.json);
  const scope = (values.scope ?? 'project') as string;
  if (scope !== 'project' && scope !== 'user') throw new UsageError(`--scope must be project or user, got '${scope}'`);
  const { installHooks, uninstallHooks, installedEvents, settingsPath, projectDirOf } = await import('./hooks.js');
  const projectDir = projectDirOf(typeof values.project === 'string' ? values.project : process.cwd());
  switch (action) {
    case 'install': {
      const r = installHooks(scope, projectDir);
      const lines = [
        `${r.changed ? 'installed' : 'already installed'}: mnemo hooks for ${r.events.join(', ')} in ${r.path}`,
        ...(r.gitignore ? [`added ${relativeTo(projectDir, r.path)} to ${r.gitignore}`] : []),
        ...(r.changed && existsSync(`${r.path}.mnemo-backup`) ? [`backup of the previous file: ${r.path}.mnemo-backup`] : []),
      ];
      say(json, r, lines.join('\n'));
      return 0;
    }
    case 'uninstall': {
      const r = uninstallHooks(scope, projectDir);
      say(json, r, r.removed > 0 ? `removed ${r.removed} mnemo hooks from ${r.path}` : `no mnemo hooks in ${r.path}`);
      return 0;
    }
    case 'status': {
      const places = [
        { scope: 'project', path: settingsPath('project', projectDir) },
        { scope: 'project (shared)', path: join(projectDir, '.claude', 'settings.json') },
        { scope: 'user', path: settingsPath('user', projectDir) },
      ].map((p) => ({ ...p, events: installedEvents(p.path) }));
      const client = await tryConnect();
      const hello = client ? await client.hello() : null;
      client?.close();
      const daemon = hello ? { running: true, pid: hello.pid, ready: hello.ready, state: hello.state } : { running: false };
      const lines = places.map((p) => `${p.scope.padEnd(17)} ${p.events ? p.events.join(', ') : 'not installed'}  (${p.path})`);
      lines.push(hello ? `daemon            answers (pid ${hello.pid}, ${hello.state})` : 'daemon            not running (the first hook starts it)');
      say(json, { places, daemon }, lines.join('\n'));
      return 0;
    }
    default:
      throw new UsageError('usage: mnemo hooks install|uninstall|status [--scope project|user] [--project DIR]');
  }
}

function relativeTo(dir: string, path: string): string {
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}

async function tagsCmd(args: string[]): Promise<number> {
  const { values } = parse(args, { project: { type: 'string' } });
  return daemonCall(values, 'tags', typeof values.project === 'string' ? { project: values.project } : {});
}

async function exportCmd(args: string[]): Promise<number> {
  const { values } = parse(args, { output: { type: 'string', short: 'o' } });
  const client = await connect({ autostart: true });
  const { createWriteStream } = await import('node:fs');
  const out: NodeJS.WritableStream = typeof values.output === 'string' ? createWriteStream(values.output) : process.stdout;
  let cursor: number | null = 0;
  let count = 0;
  try {
    while (cursor !== null) {
      const page: Awaited<ReturnType<MnemoClient['exportPage']>> = await client.exportPage({ cursor, limit: 500 });
      for (const m of page.memories) {
        if (!out.write(`${JSON.stringify(m)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
        count++;
      }
      cursor = page.cursor;
    }
  } finally {
    client.close();
  }
  if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
  if (typeof values.output === 'string' || values.json) {
    const summary = { exported: count, ...(typeof values.output === 'string' ? { file: values.output } : {}) };
    (values.json && typeof values.output === 'string' ? print : (s: unknown) => process.stderr.write(`${JSON.stringify(s)}\n`))(summary);
  } else if (process.stderr.isTTY) process.stderr.write(`exported ${count} memories\n`);
  return 0;
}

async function importCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { from: { type: 'string' }, 'dry-run': { type: 'boolean' } });
  if (typeof values.from === 'string') return importFromPeer(values.from, positionals[0], Boolean(values['dry-run']), Boolean(values.json));
  const file = positionals[0];
  if (!file) throw new UsageError('give a file of JSON lines (from mnemo export), or - for stdin');
  if (file !== '-' && !existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const total = file === '-' ? 0 : statSync(file).size;
  const client = await connect({ autostart: true });
  // Only now: readline starts reading at once, and lines read before the loop below runs would be lost.
  const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(file), crlfDelay: Infinity });
  const tty = process.stderr.isTTY && !values.json;
  let batch: Record<string, unknown>[] = [];
  let bytes = 0;
  let lineNo = 0;
  const counts = { created: 0, existing: 0 };
  const flush = async () => {
    if (batch.length === 0) return;
    const results = await client.storeBatch(batch);
    for (const r of results) counts[r.created ? 'created' : 'existing']++;
    batch = [];
    if (tty) process.stderr.write(`\rimported ${counts.created + counts.existing} memories${total ? ` (${Math.round((100 * bytes) / total)}%)` : ''}`);
  };
  try {
    for await (const line of lines) {
      lineNo++;
      bytes += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new UsageError(`line ${lineNo} is not JSON`);
      }
      batch.push({
        content: m.content,
        tags: m.tags,
        type: m.type,
        project: m.project,
        sessionId: m.sessionId,
        metadata: m.metadata,
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
        accessCount: m.accessCount,
        lastAccessedAt: m.lastAccessedAt,
      });
      if (batch.length >= 200) await flush();
    }
    await flush();
  } catch (err) {
    if (err instanceof MnemoError) err.message = `line ${lineNo}: ${err.message}`;
    throw err;
  } finally {
    client.close();
    if (tty) process.stderr.write('\n');
  }
  say(Boolean(values.json), { imported: counts.created, alreadyPresent: counts.existing }, `imported ${counts.created} new memories, ${counts.existing} already present`);
  return 0;
}

async function importFromPeer(from: string, file: string | undefined, dryRun: boolean, json: boolean): Promise<number> {
  const { importPeer, PEERS } = await import('./import-peers.js');
  if (!(PEERS as readonly string[]).includes(from)) throw new UsageError(`--from must be one of ${PEERS.join(', ')}, got '${from}'`);
  if (!file) throw new UsageError(`give the ${from} database file: mnemo import --from ${from} <file>`);
  const client = dryRun ? null : await connect({ autostart: true, onWait: waitNotice });
  try {
    const r = await importPeer(client, from as 'mcp-memory-service' | 'claude-mem', file, { dryRun, quiet: json });
    const skipped = r.skipped.length ? `; skipped ${r.skipped.map((x) => `${x.count} (${x.reason})`).join(', ')}` : '';
    say(
      json,
      r,
      dryRun
        ? `would import ${r.found} memories from ${from} (dry run, nothing changed)${skipped}`
        : `imported ${r.imported} new memories from ${from}, ${r.alreadyPresent} already present${skipped}`,
    );
    return 0;
  } finally {
    client?.close();
  }
}

// ---- helpers ----

/** One round trip: human text rendered by the daemon, or the result as JSON with --json. */
async function daemonCall(values: Values, op: string, a: Record<string, unknown>): Promise<number> {
  const client = await connect({ autostart: true, onWait: waitNotice });
  try {
    if (values.json) print(await client.request(op, a));
    else print(await client.request<string>(op, a, { render: 'text' }));
    return 0;
  } finally {
    client.close();
  }
}

let noticed = false;
function waitNotice(): void {
  if (!noticed && process.stderr.isTTY) process.stderr.write('starting the mnemo daemon…\n');
  noticed = true;
}

async function tryConnect(): Promise<MnemoClient | null> {
  try {
    return await connect({ connectTimeoutMs: 1000 });
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function print(value: unknown): void {
  process.stdout.write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);
}

function say(json: boolean, data: unknown, text: string): void {
  print(json ? data : text);
}

function intOption(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  return Number(value);
}

function jsonOption(name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new UsageError(`--${name} must be JSON, got '${value}'`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const json = process.argv.includes('--json');
    if (err instanceof UsageError) {
      process.stderr.write(`mnemo: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof MnemoError) {
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
      process.stderr.write(`mnemo: ${err.message} (${err.code})\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`mnemo: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
