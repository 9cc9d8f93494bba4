#!/usr/bin/env node
/**
 * The `mnemo` command: it only routes. Each command lives in cli/commands/ with its flags, help and handler, and is
 * loaded when it is run, so `mnemo search` never loads the model code and `mnemo daemon` never loads the installer.
 */
import { MnemoError } from '../errors.js';
import { unsupportedNode } from '../node-support.js';
import { allCommands, COMMANDS } from './commands/index.js';

async function overview(): Promise<string> {
  const commands = await allCommands();
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    'mnemo — long-term memory for AI coding agents',
    '',
    'usage: mnemo <command> [options]    every command takes --json and --help',
  ];
  let group = '';
  COMMANDS.forEach(([g], i) => {
    if (g !== group) lines.push('', g);
    group = g;
    lines.push(`  ${commands[i]!.name.padEnd(width)}${commands[i]!.summary}`);
  });
  lines.push('', "`mnemo <command> --help` shows a command's options.");
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const unsupported = unsupportedNode();
  if (unsupported) {
    process.stderr.write(`mnemo: ${unsupported}\n`);
    return 1;
  }
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const about = rest[0] && COMMANDS.find(([, n]) => n === rest[0]);
    const { usage } = await import('./command.js');
    process.stdout.write(about ? usage(await about[2]()) : await overview());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === 'version') {
    const [{ VERSION }, { PROTOCOL_VERSION }] = await Promise.all([
      import('../version.js'),
      import('../protocol/messages.js'),
    ]);
    process.stdout.write(`mnemo ${VERSION} (protocol ${PROTOCOL_VERSION})\n`);
    return 0;
  }
  const entry = COMMANDS.find(([, n]) => n === name);
  const { parse, usage, UsageError } = await import('./command.js');
  if (!entry) throw new UsageError(`unknown command '${name}'; run \`mnemo help\``);
  const command = await entry[2]();
  const parsed = parse(command, rest);
  if (parsed.values.help) {
    process.stdout.write(usage(command));
    return 0;
  }
  return command.run(parsed);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    const { UsageError } = await import('./command.js');
    const json = process.argv.includes('--json');
    if (err instanceof UsageError) {
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
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
