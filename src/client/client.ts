import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { ErrorCode, MnemoError } from '../errors.js';
import { DAEMON_MALLOC_ENV, DAEMON_V8_FLAGS } from '../daemon-env.js';
import { CLI_PATH } from '../install-paths.js';
import { makeDir, resolvePaths } from '../paths.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameReader } from '../protocol/frame.js';
import { isFailedState, PROTOCOL_VERSION, type Render, type Response } from '../protocol/messages.js';
import { defineOpMethods, type Op } from '../protocol/op-names.js';
import type { ArgsOf, ResultOf } from '../protocol/ops.js';

export interface ConnectOptions {
  /** Default: the socket in the runtime dir of `env` (MNEMO_HOME, XDG_RUNTIME_DIR, ~/.mnemo/run). */
  socketPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Deadline of each request, in milliseconds. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Start the daemon when none is running (and restart one of another protocol version). */
  autostart?: boolean;
  /** Wait until the daemon's model is warm before resolving (implied by autostart). */
  waitReady?: boolean;
  /** How long autostart and waitReady wait. */
  startTimeoutMs?: number;
  /** Called while waiting for a starting daemon, for progress output. */
  onWait?: (state: string) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: MnemoError) => void;
  timer: NodeJS.Timeout;
}

export const socketPathFor = (env: NodeJS.ProcessEnv = process.env): string => resolvePaths(env).socketPath;

/** A method per operation, named after it, typed from the op table: `client.search({ query: 'x' })`. */
export type OpMethods = {
  // `{} extends Args` is the test for "every argument optional", which makes the argument itself optional.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  [K in Op]: {} extends ArgsOf<K>
    ? (args?: ArgsOf<K>) => Promise<ResultOf<K>>
    : (args: ArgsOf<K>) => Promise<ResultOf<K>>;
};

export interface RequestOptions {
  timeoutMs?: number;
}

// The methods are made from the op names below; this declaration gives them their types.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface MnemoClient extends OpMethods {}

/**
 * A connection to the daemon: a typed method for every operation (protocol/ops.ts), pipelined requests matched by id,
 * a deadline on each request, and one clear failure for all pending requests when the connection goes away. This is
 * also the code API agents can import instead of calling MCP tools.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class MnemoClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedReason: MnemoError | null = null;
  /** Why the daemon is about to close this connection (its id-0 error), once it said so. */
  private closingReason: MnemoError | null = null;
  /** What the daemon said to the `hello` connect() asks on every connection it returns: no need to ask again. */
  greeting!: ResultOf<'hello'>;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    const reader = new FrameReader(64 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const m of reader.push(chunk)) this.settle(m as Response);
      if (reader.error) {
        this.fail(reader.error);
        socket.destroy();
      }
    });
    socket.on('error', (err) =>
      this.fail(new MnemoError(ErrorCode.CLOSED, `connection to the daemon failed: ${err.message}`)),
    );
    socket.on('close', () =>
      this.fail(this.closingReason ?? new MnemoError(ErrorCode.CLOSED, 'the daemon closed the connection')),
    );
  }

  static async connect(options: ConnectOptions = {}): Promise<MnemoClient> {
    const env = options.env ?? process.env;
    const path = options.socketPath ?? socketPathFor(env);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    const began = Date.now();
    const deadline = began + startTimeoutMs;
    let started = false;
    for (;;) {
      let client: MnemoClient;
      try {
        client = new MnemoClient(await openSocket(path, options.connectTimeoutMs ?? 1000), timeoutMs);
      } catch (err) {
        if (!options.autostart || Date.now() > deadline) throw err;
        if (!started) {
          startDaemonProcess(env);
          started = true;
        }
        options.onWait?.('starting');
        await sleep(pollAfter(began));
        continue;
      }
      const hello = await client.hello();
      if (hello.protocol !== PROTOCOL_VERSION) {
        if (!options.autostart) {
          client.close();
          throw new MnemoError(
            ErrorCode.VERSION,
            `the running daemon speaks protocol ${hello.protocol}, this client ${PROTOCOL_VERSION}; ` +
              'run `mnemo restart`',
          );
        }
        await client.request('shutdown').catch(() => {});
        client.close();
        await sleep(200);
        continue;
      }
      if (hello.ready || !(options.autostart || options.waitReady)) {
        client.greeting = hello;
        return client;
      }
      if (isFailedState(hello.state)) {
        client.close();
        throw new MnemoError(ErrorCode.MODEL, `the daemon is up but ${hello.state}`);
      }
      client.close();
      if (Date.now() > deadline)
        throw new MnemoError(
          ErrorCode.NOT_READY,
          `the daemon did not get ready within ${startTimeoutMs} ms (${hello.state})`,
        );
      options.onWait?.(hello.state);
      await sleep(pollAfter(began));
    }
  }

  /** One request; resolves with its result or rejects with the daemon's error (code and message). */
  request<K extends Op>(op: K, args?: ArgsOf<K>, options?: RequestOptions): Promise<ResultOf<K>>;
  /** The result rendered by the daemon: human text, or a JSON string. */
  request<K extends Op>(
    op: K,
    args: ArgsOf<K> | undefined,
    options: RequestOptions & { render: 'text' | 'json' },
  ): Promise<string>;
  request(op: Op, args?: unknown, options: RequestOptions & { render?: Render } = {}): Promise<unknown> {
    const closed = this.closedReason ?? this.closingReason;
    if (closed) return Promise.reject(closed);
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const ms = options.timeoutMs ?? this.timeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new MnemoError(ErrorCode.TIMEOUT, `no answer to ${op} within ${ms} ms`));
      }, ms);
      this.pending.set(id, { resolve, reject, timer });
      const request: Record<string, unknown> = { id, op };
      if (args !== undefined) request.args = args;
      if (options.render && options.render !== 'value') request.render = options.render;
      const frame = encodeFrame(request);
      // A frame over the daemon's limit would make it close the connection, failing every other request on it: refuse
      // this one here instead, and send nothing.
      if (frame.length - 4 > DEFAULT_MAX_FRAME) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(
          new MnemoError(
            ErrorCode.TOO_LARGE,
            `the ${op} request is ${frame.length - 4} bytes; the limit is ${DEFAULT_MAX_FRAME} bytes (8 MiB)`,
          ),
        );
        return;
      }
      this.socket.write(frame);
    });
  }

  private settle(response: Response): void {
    // This client's ids are small numbers; any other id is not one of its requests.
    const id = typeof response.id === 'number' ? response.id : -1;
    const p = this.pending.get(id);
    if (!p) {
      // Id 0 answers a frame the daemon could not read; it closes the connection after it, but still answers the
      // requests it read before that frame. Those replies settle as they come; whatever is pending at the close fails
      // with this reason.
      if (response.id === 0 && !response.ok)
        this.closingReason ??= new MnemoError(response.error.code, response.error.message);
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (response.ok) p.resolve(response.result);
    else p.reject(new MnemoError(response.error.code, response.error.message, response.error.details));
  }

  private fail(reason: MnemoError): void {
    this.closedReason ??= reason;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(reason);
      this.pending.delete(id);
    }
  }

  /** Whether this connection can take no more requests (closed, or the daemon said it is closing it). */
  get closed(): boolean {
    return (this.closedReason ?? this.closingReason) !== null;
  }

  close(): void {
    this.fail(new MnemoError(ErrorCode.CLOSED, 'the client closed the connection'));
    this.socket.end();
    this.socket.destroy();
  }
}

defineOpMethods(MnemoClient);

export const connect = (options?: ConnectOptions): Promise<MnemoClient> => MnemoClient.connect(options);

function openSocket(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new MnemoError(ErrorCode.TIMEOUT, `could not connect to ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const running =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'the mnemo daemon is not running' : err.message;
      reject(new MnemoError(ErrorCode.CLOSED, `${running} (${path})`));
    });
  });
}

/** Starts `mnemo daemon` detached, its output appended to the log dir. Does not wait. MNEMO_CLI and MNEMO_NODE
 * override which CLI and which Node.js run it. */
export function startDaemonProcess(env: NodeJS.ProcessEnv = process.env, extraArgs: string[] = []): number | undefined {
  const paths = resolvePaths(env);
  makeDir(paths.logDir);
  // 0600 like the daemon's other files: its output can quote what it was storing when it failed.
  const out = openSync(paths.daemonOut, 'a', 0o600);
  // The same overrides as the native client: where Node.js and the CLI are.
  const cli = env.MNEMO_CLI || CLI_PATH;
  const node = env.MNEMO_NODE || process.execPath;
  if (!existsSync(cli))
    throw new MnemoError(ErrorCode.INTERNAL, `cannot find the mnemo CLI at ${cli}; run npm run build`);
  // Started with its allocator settings and V8 flags (daemon-env.ts), it need not re-execute itself to take them
  // (about 40 ms of a start). A user's own values win; elsewhere than Linux the daemon runs as Node.js starts it.
  const tune = process.platform === 'linux' && !Object.keys(DAEMON_MALLOC_ENV).some((k) => env[k] !== undefined);
  const child = spawn(node, [...(tune ? DAEMON_V8_FLAGS : []), cli, 'daemon', ...extraArgs], {
    detached: true,
    stdio: ['ignore', out, out],
    env: tune ? { ...env, ...DAEMON_MALLOC_ENV } : env,
  });
  child.unref();
  return child.pid;
}

/**
 * How often a client waiting for a daemon that is starting tries again: to connect (a failed connect to a socket not
 * yet there costs microseconds) and, once connected, to ask `hello` whether it is ready (a fraction of a millisecond of
 * the daemon's time, while its main thread mostly waits for the model to load). Each wait adds on average half of
 * this to a start (it was 50 ms before the socket was there and 25 ms after, issue 14).
 */
export const START_POLL_MS = 10;

/** The wait before the next try: START_POLL_MS for the first 2 s, then 100 ms (a first start that builds the offline
 * pack takes several seconds, and a connection and `hello` every 10 ms for all of it would be for nothing). */
const pollAfter = (since: number): number => (Date.now() - since < 2000 ? START_POLL_MS : 100);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
