import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MnemoError } from '../../errors.js';
import { connectCli, say, UsageError, type Command } from '../command.js';

/** Export and import: all memories as JSON lines, losslessly; or memories from a peer tool's database. */

export const exportCommand: Command = {
  name: 'export',
  usage: '[--output FILE]',
  summary: 'every memory as one JSON line each (content, tags, metadata, times, access counts): a lossless backup',
  flags: [{ name: 'output', short: 'o', kind: 'string', value: 'FILE', help: 'write to FILE instead of stdout' }],
  ops: ['export'],
  async run({ values, json }) {
    const file = typeof values.output === 'string' ? values.output : undefined;
    const client = await connectCli();
    const out: NodeJS.WritableStream = file ? createWriteStream(file) : process.stdout;
    let cursor: number | null = 0;
    let count = 0;
    try {
      while (cursor !== null) {
        const page = await client.export({ cursor, limit: 500 });
        for (const m of page.memories) {
          if (!out.write(`${JSON.stringify(m)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
          count++;
        }
        cursor = page.cursor;
      }
    } finally {
      client.close();
    }
    if (file) await new Promise<void>((r) => out.end(() => r()));
    const summary = { exported: count, ...(file ? { file } : {}) };
    // With the memories on stdout, the summary goes to stderr.
    const memories = `${count} ${count === 1 ? 'memory' : 'memories'}`;
    if (file) say(json, summary, `exported ${memories} to ${file}`);
    else if (json) process.stderr.write(`${JSON.stringify(summary)}\n`);
    else if (process.stderr.isTTY) process.stderr.write(`exported ${memories}\n`);
    return 0;
  },
};

/**
 * An exported memory as `store` takes it back: the fields the store op knows (protocol/ops.ts); the hash is derived
 * from the content again.
 */
async function importer(): Promise<(m: Record<string, unknown>) => Record<string, unknown>> {
  const { OPS } = await import('../../protocol/ops.js');
  return (m) => Object.fromEntries(OPS.store.keys.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
}

export const importCommand: Command = {
  name: 'import',
  usage: '<file | -> | --from mcp-memory-service|claude-mem <db> [--dry-run]',
  summary: "memories from `mnemo export` JSON lines (idempotent), or from a peer tool's SQLite database",
  flags: [
    { name: 'from', kind: 'string', value: 'PEER', help: 'read a peer database: mcp-memory-service or claude-mem' },
    { name: 'dry-run', kind: 'boolean', help: 'check and count what would be imported, and change nothing' },
  ],
  ops: ['storeBatch'],
  async run({ values, positionals, json }) {
    if (typeof values.from === 'string')
      return importFromPeer(values.from, positionals[0], values['dry-run'] === true, json);
    const file = positionals[0];
    if (!file) throw new UsageError('give a file of JSON lines (from mnemo export), or - for stdin');
    if (file !== '-' && !existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const total = file === '-' ? 0 : statSync(file).size;
    if (values['dry-run'] === true) return dryRun(file, json);
    const importable = await importer();
    const client = await connectCli();
    // Only now: readline starts reading at once, and lines read before the loop below runs would be lost.
    const lines = createInterface({
      input: file === '-' ? process.stdin : createReadStream(file),
      crlfDelay: Infinity,
    });
    const tty = process.stderr.isTTY && !json;
    let batch: Record<string, unknown>[] = [];
    let bytes = 0;
    let lineNo = 0;
    const counts = { created: 0, existing: 0 };
    const flush = async () => {
      if (batch.length === 0) return;
      const results = await client.storeBatch({ memories: batch as never });
      for (const r of results) counts[r.created ? 'created' : 'existing']++;
      batch = [];
      const share = total ? ` (${Math.round((100 * bytes) / total)}%)` : '';
      if (tty) process.stderr.write(`\rimported ${counts.created + counts.existing} memories${share}`);
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
        batch.push(importable(m));
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
    say(
      json,
      { imported: counts.created, alreadyPresent: counts.existing },
      `imported ${counts.created} new memories, ${counts.existing} already present`,
    );
    return 0;
  },
};

/** Reads the file and checks every line as `import` would send it, without a daemon; nothing is stored. */
async function dryRun(file: string, json: boolean): Promise<number> {
  const { parseArgs } = await import('../../protocol/ops.js');
  const importable = await importer();
  const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  let valid = 0;
  const refused: { line: number; reason: string }[] = [];
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      const m = JSON.parse(line) as Record<string, unknown>;
      parseArgs('store', importable(m));
      valid++;
    } catch (err) {
      refused.push({ line: lineNo, reason: err instanceof SyntaxError ? 'not JSON' : (err as Error).message });
    }
  }
  const first = refused[0] ? `; line ${refused[0].line}: ${refused[0].reason}` : '';
  const refusals = refused.length ? `; ${refused.length} lines refused${first}` : '';
  say(
    json,
    { dryRun: true, valid, refused },
    `would import ${valid} memories (dry run, nothing changed; memories already stored count as imported)${refusals}`,
  );
  return refused.length > 0 ? 1 : 0;
}

async function importFromPeer(from: string, file: string | undefined, dryRun: boolean, json: boolean): Promise<number> {
  const { importPeer, PEERS } = await import('../import-peers.js');
  if (!(PEERS as readonly string[]).includes(from))
    throw new UsageError(`--from must be one of ${PEERS.join(', ')}, got '${from}'`);
  if (!file) throw new UsageError(`give the ${from} database file: mnemo import --from ${from} <file>`);
  const client = dryRun ? null : await connectCli();
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
