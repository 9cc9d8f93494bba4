import { parseArgs } from 'node:util';
import { connect, type MnemoClient } from '../client/client.js';
import { ErrorCode, MnemoError } from '../errors.js';
import type { Op } from '../protocol/op-names.js';

/**
 * What a command is: its flags (each with its help line and, for commands that send one operation, the argument it
 * fills), its usage, and what it runs. The help text, the flag parsing and the usage errors all come from here, so
 * they cannot disagree.
 */
export interface Flag {
  name: string;
  short?: string;
  /** `boolean` flags take no value; the others take one (`list`: repeatable). */
  kind: 'boolean' | 'string' | 'int' | 'number' | 'json' | 'list';
  /** The placeholder in help (`N`, `TAG`, `DATE`). */
  value?: string;
  help: string;
  /** The operation argument this flag fills (with `set`, the value it sets). */
  field?: string;
  set?: unknown;
}

export interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
  json: boolean;
}

export interface Command {
  name: string;
  /** One line for `mnemo help`. */
  summary: string;
  /** What follows `mnemo <name>`, e.g. `<query> [options]`. */
  usage: string;
  /** Longer help: actions, examples. */
  details?: string;
  flags: Flag[];
  /** The operations it sends (checked against the op table by a test). */
  ops?: Op[];
  run(p: Parsed): Promise<number>;
}

/** A mistake in how the command was typed (or a request refused as bad input): exit status 2 and one line. */
export class UsageError extends Error {
  readonly code = 'E_BAD_ARGS';
}

const COMMON: Flag[] = [
  { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  { name: 'help', short: 'h', kind: 'boolean', help: 'show this help and do nothing else' },
];

/** The command's usage, flags and details, as `mnemo <command> --help` prints it. */
export function usage(c: Command): string {
  const flags = [...c.flags, ...COMMON];
  const left = (f: Flag) =>
    `${f.short ? `-${f.short}, ` : '    '}--${f.name}` +
    (f.kind === 'boolean' ? '' : ` ${f.value ?? 'X'}`) +
    (f.kind === 'list' ? '...' : '');
  const width = Math.max(...flags.map((f) => left(f).length));
  const lines = [`usage: mnemo ${c.name} ${c.usage}`.trimEnd(), '', c.summary];
  if (c.details) lines.push('', c.details.trimEnd());
  lines.push('', 'options:', ...flags.map((f) => `  ${left(f).padEnd(width)}  ${f.help}`));
  return `${lines.join('\n')}\n`;
}

/** Parses argv against the command's flags: unknown flags and missing values are usage errors. */
export function parse(c: Command, argv: string[]): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const f of [...c.flags, ...COMMON]) {
    options[f.name] = {
      type: f.kind === 'boolean' ? 'boolean' : 'string',
      ...(f.short ? { short: f.short } : {}),
      ...(f.kind === 'list' ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values, positionals, json: values.json === true };
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${message}; see \`mnemo ${c.name} --help\``);
  }
}

/** The operation arguments the command's flags fill, values converted by kind. */
export function flagArgs(c: Command, values: Record<string, unknown>): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const f of c.flags) {
    const v = values[f.name];
    if (v === undefined || !f.field) continue;
    if (f.set !== undefined) args[f.field] = f.set;
    else if (f.kind === 'int' || f.kind === 'number') args[f.field] = toNumber(v as string);
    else if (f.kind === 'json') args[f.field] = jsonValue(f.name, v as string);
    else args[f.field] = v;
  }
  return args;
}

/** A number when the text is one; else the text itself, so the op's schema names the flag and shows what was typed. */
const toNumber = (v: string): number | string => (/^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(v.trim()) ? Number(v) : v);

function jsonValue(flag: string, v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    throw new UsageError(`--${flag} must be JSON, got '${v}'`);
  }
}

/**
 * Checks the arguments with the op's own schema before anything is sent, and says what is wrong in the user's terms:
 * `--min-score` rather than `minScore`, `<query>` rather than `query`.
 */
export async function checkArgs(
  c: Command,
  op: Op,
  args: Record<string, unknown>,
  names: Record<string, string> = {},
): Promise<void> {
  const { parseArgs: parseOpArgs } = await import('../protocol/ops.js');
  try {
    parseOpArgs(op, args);
  } catch (err) {
    throw asUsage(c, err, names);
  }
}

/** A daemon's E_BAD_ARGS in the user's terms (flag names), as a usage error; anything else unchanged. */
export function asUsage(c: Command, err: unknown, names: Record<string, string> = {}): unknown {
  if (!(err instanceof MnemoError) || err.code !== ErrorCode.BAD_ARGS) return err;
  const byField = new Map<string, string>(Object.entries(names));
  for (const f of c.flags) if (f.field && !byField.has(f.field)) byField.set(f.field, `--${f.name}`);
  const message = err.message.replace(/`([A-Za-z_][\w.[\]]*)`/g, (whole, field: string) => byField.get(field) ?? whole);
  return new UsageError(message);
}

/** One round trip: human text rendered by the daemon, or the result as JSON with --json. */
export async function daemonCall(
  c: Command,
  p: Parsed,
  op: Op,
  args: Record<string, unknown>,
  names: Record<string, string> = {},
): Promise<number> {
  await checkArgs(c, op, args, names);
  const client = await connectCli();
  try {
    print(p.json ? await client.request(op, args) : await client.request(op, args, { render: 'text' }));
    return 0;
  } catch (err) {
    throw asUsage(c, err, names);
  } finally {
    client.close();
  }
}

let noticed = false;
/** A connection that starts the daemon if needed, saying so once on a terminal. */
export function connectCli(): Promise<MnemoClient> {
  return connect({
    autostart: true,
    onWait: () => {
      if (!noticed && process.stderr.isTTY) process.stderr.write('starting the mnemo daemon…\n');
      noticed = true;
    },
  });
}

/** A connection to a running daemon, or null; never starts one. */
export async function tryConnect(): Promise<MnemoClient | null> {
  try {
    return await connect({ connectTimeoutMs: 1000 });
  } catch {
    return null;
  }
}

export function print(value: unknown): void {
  process.stdout.write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);
}

/** The data as JSON with --json, else the sentence. */
export function say(json: boolean, data: unknown, text: string): void {
  print(json ? data : text);
}

export function intValue(flag: string, value: unknown): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new UsageError(`--${flag} must be a whole number, got '${String(value)}'`);
  return Number(value);
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
