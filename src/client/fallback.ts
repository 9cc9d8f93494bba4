#!/usr/bin/env node
/**
 * The Node.js stand-in for the native client (client/mnemo-client.c), for machines where it could not be built: the
 * same command line, the same deadlines, the same fail-open rule for hooks. It costs a Node.js start per hook (about
 * 50 ms) where the native client costs about one.
 */
import { appendFileSync, mkdirSync, statSync, renameSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { resolvePaths } from '../paths.js';
import { encodeFrame, FrameReader } from '../protocol/frame.js';
import type { Response } from '../protocol/messages.js';
import { socketPathFor, startDaemonProcess } from './client.js';

const MAX_INPUT = 8 * 1024 * 1024 - 4096;
const HOOK_TIMEOUT_MS = 500;
const SESSION_START_TIMEOUT_MS = 2000;
const CALL_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 50;

const [mode = '', target = '', ...rest] = process.argv.slice(2);
const hook = mode === 'hook';
const json = rest.includes('--json') || target === '--json';

function log(line: string): void {
  try {
    const { logDir, clientLog: path } = resolvePaths();
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    try {
      if (statSync(path).size > 1024 * 1024) renameSync(path, `${path}.1`);
    } catch {
      // No log yet.
    }
    appendFileSync(path, `${new Date().toISOString()} pid=${process.pid} mode=${mode} node ${line}\n`, { mode: 0o600 });
  } catch {
    // A client that cannot log still must not fail the hook.
  }
}

/** Hooks: print nothing, exit 0. Scripts: say why on stderr, exit 1. */
function fail(reason: string): never {
  log(reason);
  if (!hook) process.stderr.write(`mnemo-client: ${reason}\n`);
  process.exit(hook ? 0 : 1);
}

async function readStdin(deadline: number): Promise<Buffer> {
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => fail('could not read stdin within the deadline'), Math.max(0, deadline - Date.now()));
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_INPUT) fail(`stdin is over the ${MAX_INPUT}-byte frame limit; sent nothing`);
    chunks.push(chunk as Buffer);
  }
  clearTimeout(timer);
  return Buffer.concat(chunks);
}

async function main(): Promise<void> {
  if (mode === 'paths') {
    const { socketPath, clientLog } = resolvePaths();
    process.stdout.write(`socket ${socketPath}\nclientLog ${clientLog}\n`);
    return;
  }
  if (!['hook', 'call', 'batch'].includes(mode) || (mode !== 'batch' && !target)) {
    // A hook must never exit 2 (it would block the prompt or tool call), even when it is set up wrong.
    if (hook) fail('usage: mnemo-client hook <Event> (the event name is missing)');
    process.stderr.write(
      'usage: mnemo-client hook <Event> | call <op> [json-args] [--json] | batch [--json] | paths\n',
    );
    process.exit(2);
  }
  const envTimeout = Number(process.env.MNEMO_CLIENT_TIMEOUT_MS);
  const total =
    envTimeout > 0 && envTimeout < 3_600_000
      ? envTimeout
      : hook
        ? target === 'SessionStart'
          ? SESSION_START_TIMEOUT_MS
          : HOOK_TIMEOUT_MS
        : CALL_TIMEOUT_MS;
  const started = Date.now();
  const deadline = started + total;
  setTimeout(() => fail(`no reply within ${total} ms`), total).unref();

  let request: Record<string, unknown>;
  if (hook) {
    request = { id: 1, op: 'hook', args: { event: target, payload: await readStdin(deadline) } };
  } else if (mode === 'call') {
    const argsJson = [target, ...rest].slice(1).find((a) => a !== '--json') ?? '{}';
    request = { id: 1, op: target, args_json: argsJson, render: json ? 'json' : 'text' };
  } else {
    const input = (await readStdin(deadline)).toString('utf8');
    request = { id: 1, op: 'batch', args_json: `{"calls":${input.trim() || 'null'}}`, render: json ? 'json' : 'text' };
  }

  const path = socketPathFor();
  const socket = netConnect(path);
  const connectTimer = setTimeout(
    () => {
      socket.destroy();
      fail(`could not connect to ${path} within ${CONNECT_TIMEOUT_MS} ms`);
    },
    Math.min(Number(process.env.MNEMO_CLIENT_CONNECT_MS) || CONNECT_TIMEOUT_MS, total),
  );
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      // MNEMO_NO_AUTOSTART=1: the daemon is managed elsewhere (a service unit, a test); never start one from a hook.
      const off = process.env.MNEMO_NO_AUTOSTART;
      if (off && off !== '0')
        fail(`the mnemo daemon is not running (${err.code}); not starting it (MNEMO_NO_AUTOSTART is set)`);
      try {
        startDaemonProcess();
      } catch {
        // Logged below.
      }
      fail(`the mnemo daemon is not running (${err.code}); starting it`);
    }
    fail(`connection failed: ${err.message}`);
  });
  socket.on('connect', () => {
    clearTimeout(connectTimer);
    socket.write(encodeFrame(request));
  });
  const reader = new FrameReader(64 * 1024 * 1024);
  socket.on('data', (chunk: Buffer) => {
    const messages = reader.push(chunk);
    if (messages.length === 0 && reader.error) fail(`garbled reply: ${reader.error.message}`);
    const reply = messages[0] as Response | undefined;
    if (!reply) return;
    socket.destroy();
    if (!reply.ok) fail(`${reply.error.message} (${reply.error.code})`);
    const result = reply.result as { stdout?: unknown; exitCode?: unknown } | string;
    if (typeof result === 'string') {
      process.stdout.write(result.endsWith('\n') || result === '' ? result : `${result}\n`);
      process.exit(0);
    }
    if (typeof result?.stdout === 'string') process.stdout.write(result.stdout);
    const code = typeof result?.exitCode === 'number' ? result.exitCode : 0;
    // Exit status 2 would block the prompt or tool call: mnemo never does that.
    process.exitCode = code === 2 || code < 0 || code > 255 ? 0 : code;
    process.stdout.end();
  });
  socket.on('close', () => {
    if (process.exitCode === undefined) fail('the daemon closed the connection without a reply');
  });
}

main().catch((err: unknown) => fail(`unexpected: ${(err as Error).message}`));
