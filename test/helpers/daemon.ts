import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MnemoClient } from '../../dist/client/client.js';
import { decodeMessage } from '../../dist/protocol/codec.js';
import { encodeFrame, FrameReader } from '../../dist/protocol/frame.js';
import { REPO, tinyPack } from './packs.js';

export const CLI = join(REPO, 'dist', 'cli', 'main.js');
export const NATIVE_CLIENT = join(REPO, 'build', 'mnemo-client');
export const FALLBACK_CLIENT = join(REPO, 'dist', 'client', 'fallback.js');

/** An environment whose MNEMO_HOME is a fresh temp dir (short, so the socket path fits) and whose model is given. */
export function testEnv(model = tinyPack()): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'mn-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MNEMO_HOME: home,
    MNEMO_MODEL: model,
    MNEMO_CLI: CLI,
    MNEMO_NODE: process.execPath,
  };
  delete env.XDG_RUNTIME_DIR;
  delete env.XDG_DATA_HOME;
  delete env.XDG_CONFIG_HOME;
  return env;
}

export const socketOf = (env: NodeJS.ProcessEnv) => join(env.MNEMO_HOME!, 'run', 'mnemo.sock');

export interface DaemonProcess {
  env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  client(): Promise<MnemoClient>;
  stop(): Promise<void>;
}

/** Runs `mnemo daemon` as a real process and waits until it answers and its model is warm. */
export async function startDaemon(env = testEnv(), args: string[] = [], waitReady = true): Promise<DaemonProcess> {
  const proc = spawn(process.execPath, [CLI, 'daemon', '--threads', '1', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const d: DaemonProcess = {
    env,
    proc,
    exited,
    output: () => out,
    client: () => connect({ env, waitReady: true, startTimeoutMs: 30_000 }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
  // Wait until this daemon answers (a dead one's socket file may still be there).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited early (${proc.exitCode}): ${out}`);
    if (Date.now() > deadline) throw new Error(`daemon did not listen: ${out}`);
    try {
      const c = await connect({ env, connectTimeoutMs: 500 });
      const { pid } = await c.hello();
      c.close();
      if (pid === proc.pid) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (waitReady) (await d.client()).close();
  return d;
}

/** Removes a test home, first killing any daemon still running in it (a failed test must not leave one behind). */
export function cleanup(env: NodeJS.ProcessEnv): void {
  try {
    const { pid } = JSON.parse(readFileSync(join(env.MNEMO_HOME!, 'run', 'daemon.json'), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
  } catch {
    // No daemon left.
  }
  // A daemon that was stopping may still be writing its last log lines while the folder goes.
  rmSync(env.MNEMO_HOME!, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}

/** A raw socket for sending arbitrary bytes and reading whole frames back. */
export class RawConnection {
  readonly socket: Socket;
  private readonly reader = new FrameReader(64 * 1024 * 1024);
  private readonly frames: unknown[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) this.frames.push(m);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = netConnect(path);
      s.once('connect', () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame, or null once the connection is closed with nothing left. */
  async next(timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error('no frame in time');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.frames.shift();
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

export { decodeMessage };
