import { daemonCall, readStdin, UsageError, type Command, type Flag, flagArgs } from '../command.js';

/** The commands that send one memory operation: their flags fill the op's arguments (protocol/ops.ts). */

const project: Flag = {
  name: 'project',
  kind: 'string',
  value: 'P',
  field: 'project',
  help: 'only memories of this project (its folder)',
};
const type: Flag = {
  name: 'type',
  kind: 'string',
  value: 'T',
  field: 'type',
  help: 'only memories of this type (note, decision, observation, ...)',
};
const tag: Flag = {
  name: 'tag',
  short: 't',
  kind: 'list',
  value: 'TAG',
  field: 'tags',
  help: 'only memories with this tag (repeat for several: any of them)',
};
const FILTERS: Flag[] = [
  project,
  tag,
  {
    name: 'all-tags',
    kind: 'boolean',
    field: 'tagMode',
    set: 'all',
    help: 'with -t: memories with every tag given, not any',
  },
  type,
  {
    name: 'since',
    kind: 'string',
    value: 'DATE',
    field: 'since',
    help: 'made at or after DATE (ISO 8601, e.g. 2026-11-01)',
  },
  { name: 'until', kind: 'string', value: 'DATE', field: 'until', help: 'made before DATE' },
  {
    name: 'time',
    kind: 'string',
    value: 'EXPR',
    field: 'time',
    help: 'made within a time in words: "last week", "yesterday", "past 3 days"',
  },
];
const session: Flag = {
  name: 'session',
  kind: 'string',
  value: 'ID',
  field: 'sessionId',
  help: 'only memories of this Claude Code session',
};
const limit = (dflt: number): Flag => ({
  name: 'limit',
  short: 'n',
  kind: 'int',
  value: 'N',
  field: 'limit',
  help: `at most N results (1 to 100; default ${dflt})`,
});
const mode: Flag = {
  name: 'mode',
  kind: 'string',
  value: 'M',
  field: 'mode',
  help: 'hybrid (default), semantic or keyword',
};
const full: Flag = {
  name: 'full',
  kind: 'boolean',
  field: 'format',
  set: 'full',
  help: 'whole memories with metadata and both scores',
};

export const store: Command = {
  name: 'store',
  usage: '<text> | - [options]',
  summary: 'store one memory (the text, or stdin with -); storing the same text again merges its tags',
  ops: ['store'],
  flags: [
    { name: 'tag', short: 't', kind: 'list', value: 'TAG', field: 'tags', help: 'a tag (repeat for several)' },
    { ...type, help: 'its type (default note)' },
    { ...project, help: 'the project folder it belongs to' },
    { name: 'metadata', kind: 'json', value: 'JSON', field: 'metadata', help: 'a JSON object kept with it' },
  ],
  async run(p) {
    let content = p.positionals.join(' ');
    if (content === '' || content === '-') {
      if (process.stdin.isTTY)
        throw new UsageError('give the text to store, or pipe it in: echo "..." | mnemo store -');
      content = await readStdin();
    }
    return daemonCall(this, p, 'store', { content, ...flagArgs(this, p.values) }, { content: 'the text' });
  },
};

export const search: Command = {
  name: 'search',
  usage: '<query> [options]',
  summary: 'rank memories for a query: hybrid (keyword and meaning, the default), semantic or keyword',
  details:
    'examples:\n  mnemo search "which logging library"\n' +
    '  mnemo search retry --mode keyword -t decision --time "last month"',
  ops: ['search'],
  flags: [
    mode,
    limit(5),
    ...FILTERS,
    {
      name: 'min-score',
      kind: 'number',
      value: 'X',
      field: 'minScore',
      help: 'leave out results scoring below X (0 to 1)',
    },
    full,
    { name: 'budget', kind: 'int', value: 'TOKENS', field: 'budget', help: 'compact text cut to fit this many tokens' },
  ],
  run(p) {
    const query = p.positionals.join(' ');
    if (!query.trim()) throw new UsageError('give a query: mnemo search "what we decided about logging"');
    const args: Record<string, unknown> = { query, ...flagArgs(this, p.values) };
    if (args.budget !== undefined) args.format = 'text';
    return daemonCall(this, p, 'search', args, { query: '<query>' });
  },
};

export const recall: Command = {
  name: 'recall',
  usage: '<time expression> [query] [options]',
  summary: 'memories from a time in words, newest first, or ranked by a query within that time',
  details: 'examples:\n  mnemo recall yesterday\n  mnemo recall "last week" auth',
  ops: ['recall'],
  // Every filter but --time: the time is the first argument.
  flags: [mode, limit(10), ...FILTERS.filter((f) => f.name !== 'time'), session, full],
  run(p) {
    const [time, ...query] = p.positionals;
    if (!time) throw new UsageError('give a time: mnemo recall "last week" [query]');
    return daemonCall(
      this,
      p,
      'recall',
      { time, ...(query.length > 0 ? { query: query.join(' ') } : {}), ...flagArgs(this, p.values) },
      { time: '<time expression>', query: '[query]' },
    );
  },
};

export const get: Command = {
  name: 'get',
  usage: '<hash>',
  summary: 'one memory in full, by hash or a unique prefix of 6 or more characters',
  ops: ['get'],
  flags: [],
  run(p) {
    if (p.positionals.length !== 1) throw new UsageError('give one hash: mnemo get a1b2c3d4');
    return daemonCall(this, p, 'get', { hash: p.positionals[0] }, { hash: '<hash>' });
  },
};

export const update: Command = {
  name: 'update',
  usage: '<hash> [options]',
  summary: "change a memory's tags, type or metadata (its text is its identity and cannot change)",
  ops: ['update'],
  flags: [
    { name: 'tag', short: 't', kind: 'list', value: 'TAG', field: 'tags', help: 'replace every tag with these' },
    { name: 'add-tag', kind: 'list', value: 'TAG', field: 'addTags', help: 'add a tag' },
    { name: 'remove-tag', kind: 'list', value: 'TAG', field: 'removeTags', help: 'remove a tag' },
    { ...type, help: 'set its type' },
    {
      name: 'metadata',
      kind: 'json',
      value: 'JSON',
      field: 'metadata',
      help: 'merged into its metadata (a null value removes a key)',
    },
  ],
  run(p) {
    if (p.positionals.length !== 1) throw new UsageError('give one hash: mnemo update a1b2c3d4 --add-tag important');
    return daemonCall(this, p, 'update', { hash: p.positionals[0], ...flagArgs(this, p.values) }, { hash: '<hash>' });
  },
};

export const remove: Command = {
  name: 'delete',
  usage: '[<hash>...] [options]',
  summary: 'move memories to the trash by hash, or by a filter (never an empty one); --dry-run shows what would go',
  details:
    'Every filter given must hold, and a hash given with filters goes only if the filters match it too. Deleted\n' +
    'memories stay in the trash for 7 days (config `trashDays`): `mnemo trash` lists them, ' +
    '`mnemo restore` brings them back.\n' +
    'examples:\n  mnemo delete a1b2c3d4\n  mnemo delete -t scratch --until 2026-01-01 --dry-run',
  ops: ['delete'],
  flags: [
    ...FILTERS,
    session,
    { name: 'dry-run', kind: 'boolean', field: 'dryRun', help: 'list what would be deleted and change nothing' },
    { name: 'purge', kind: 'boolean', field: 'purge', help: 'delete for good instead of moving to the trash' },
  ],
  run(p) {
    const args = flagArgs(this, p.values);
    if (p.positionals.length > 0) args.hashes = p.positionals;
    return daemonCall(this, p, 'delete', args, { hashes: '<hash>...', hash: '<hash>' });
  },
};

export const tags: Command = {
  name: 'tags',
  usage: '[options]',
  summary: 'every tag with how many memories carry it, most used first',
  ops: ['tags'],
  flags: [project],
  run(p) {
    return daemonCall(this, p, 'tags', flagArgs(this, p.values));
  },
};

export const list: Command = {
  name: 'list',
  usage: '[options]',
  summary: 'memories matching the filters, newest first',
  ops: ['list'],
  flags: [...FILTERS, session, limit(10), full],
  run(p) {
    return daemonCall(this, p, 'list', flagArgs(this, p.values));
  },
};

export const trash: Command = {
  name: 'trash',
  usage: '[options]',
  summary: 'the deleted memories still restorable, most recently deleted first',
  ops: ['trash'],
  flags: [
    { name: 'limit', short: 'n', kind: 'int', value: 'N', field: 'limit', help: 'at most N (1 to 100; default 20)' },
  ],
  run(p) {
    return daemonCall(this, p, 'trash', flagArgs(this, p.values));
  },
};

export const restore: Command = {
  name: 'restore',
  usage: '<hash>... | --all',
  summary: 'bring memories back from the trash: content, tags, metadata and times, searchable again',
  ops: ['restore'],
  flags: [{ name: 'all', kind: 'boolean', field: 'all', help: 'restore everything in the trash' }],
  run(p) {
    const args = flagArgs(this, p.values);
    if (p.positionals.length > 0) args.hashes = p.positionals;
    return daemonCall(this, p, 'restore', args, { hashes: '<hash>...' });
  },
};
