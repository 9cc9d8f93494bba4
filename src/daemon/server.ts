import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, MnemoError } from '../errors.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameReader, InvalidText } from '../protocol/frame.js';
import { responseError, type Request, type RequestId, type Response } from '../protocol/messages.js';

export interface ServerLimits {
  /** Largest frame body accepted, in bytes. */
  maxFrame: number;
  /** Open connections at once; one more is told E_BUSY and closed. */
  maxConnections: number;
  /** Requests one connection may have in flight; one more is answered E_BUSY at once. */
  maxInFlight: number;
  /** Longest a request may take before it is answered E_TIMEOUT. */
  requestTimeoutMs: number;
  /** Longest a frame may stay half sent; then the connection is told E_BAD_FRAME and closed. */
  frameTimeoutMs: number;
  /** At the connection limit, a connection idle this long (nothing in flight) is closed to let a new one in. */
  evictIdleAfterMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxFrame: DEFAULT_MAX_FRAME,
  maxConnections: 256,
  maxInFlight: 64,
  requestTimeoutMs: 30_000,
  frameTimeoutMs: 10_000,
  evictIdleAfterMs: 1000,
};

interface Connection {
  /** Requests in flight. */
  open: number;
  /** When it last sent or was sent anything. */
  lastActive: number;
  /** Closes it, telling the peer why. */
  evict(reason: string): void;
}

export type Handler = (request: Request) => Promise<unknown>;

export interface ServerEvents {
  /** A request finished: how long it took and whether it failed. */
  onRequest?(op: string, ms: number, failed: boolean): void;
  /** A connection sent something unreadable and was closed. */
  onBadTraffic?(reason: string): void;
  /** A handler threw something that is not a MnemoError. */
  onInternalError?(op: string, err: unknown): void;
}

/**
 * The daemon's socket side: frames in, handler calls, frames out. Requests on one connection run concurrently and are
 * answered as they finish (the id pairs them); limits turn overload into immediate E_BUSY answers, and unreadable
 * traffic into an error frame and a close that touches no other connection.
 */
export class DaemonServer {
  private readonly server: Server;
  private readonly sockets = new Map<Socket, Connection>();
  private inFlight = 0;
  /** Handlers not yet settled, answered or not. */
  private lingering = 0;
  private drained: (() => void) | null = null;
  private closing = false;

  constructor(
    private readonly handler: Handler,
    private readonly limits: ServerLimits = DEFAULT_LIMITS,
    private readonly events: ServerEvents = {},
  ) {
    this.server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
  }

  listen(target: string | { fd: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        resolve();
      };
      if (typeof target === 'string') this.server.listen(target, done);
      else this.server.listen(target, done);
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  /**
   * At the connection limit, the connection idle longest (nothing in flight for evictIdleAfterMs) makes room for the
   * new one: idle connections (a crashed script's, or a flood of them) must not lock out every hook. When none has
   * been idle that long, the newcomer is turned away with E_BUSY.
   */
  private makeRoom(): boolean {
    if (this.sockets.size < this.limits.maxConnections) return true;
    const before = performance.now() - this.limits.evictIdleAfterMs;
    let idlest: Connection | null = null;
    for (const c of this.sockets.values())
      if (c.open === 0 && c.lastActive <= before && (!idlest || c.lastActive < idlest.lastActive)) idlest = c;
    idlest?.evict(
      'closed to make room: this connection was idle ' +
        `while the daemon was at its limit of ${this.limits.maxConnections}`,
    );
    return idlest !== null;
  }

  private accept(socket: Socket): void {
    if (this.closing || !this.makeRoom()) {
      const reason = this.closing
        ? 'the daemon is shutting down'
        : `too many connections (${this.limits.maxConnections})`;
      // The peer may already be gone (a hook past its deadline): a failed write must not become an uncaught error.
      socket.on('error', () => socket.destroy());
      socket.end(encodeFrame(responseError(0, new MnemoError(ErrorCode.BUSY, reason))));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const reader = new FrameReader(this.limits.maxFrame, true);
    const conn: Connection = {
      open: 0,
      lastActive: performance.now(),
      evict: (reason) => {
        this.sockets.delete(socket);
        send(responseError(0, new MnemoError(ErrorCode.BUSY, reason)));
        dead = true;
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    };
    this.sockets.set(socket, conn);
    let dead = false;
    // After unreadable bytes nothing more is read; the connection ends once the requests before them are answered.
    let poisoned = false;
    const finish = () => {
      socket.end();
      // A peer that never reads its last replies must not hold the connection open.
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const send = (response: Response) => {
      if (dead || socket.destroyed) return;
      if (!socket.write(encodeFrame(response))) socket.pause();
    };
    const fail = (id: RequestId, err: MnemoError) => {
      this.events.onBadTraffic?.(err.message);
      send(responseError(id, err));
      poisoned = true;
      if (conn.open === 0) finish();
    };
    socket.on('drain', () => socket.resume());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      dead = true;
      this.sockets.delete(socket);
    });
    // A frame begun and left unfinished holds the connection for nothing: after frameTimeoutMs without a byte, close.
    socket.setTimeout(this.limits.frameTimeoutMs, () => {
      if (reader.midFrame && !poisoned)
        fail(
          0,
          new MnemoError(ErrorCode.BAD_FRAME, `a frame was left unfinished for ${this.limits.frameTimeoutMs} ms`),
        );
    });
    socket.on('data', (chunk: Buffer) => {
      if (dead || poisoned) return;
      conn.lastActive = performance.now();
      // Whole frames before a bad one are still answered; the bad one closes the connection after them.
      const messages = reader.push(chunk);
      for (const decoded of messages) {
        const message = decoded instanceof InvalidText ? decoded.message : decoded;
        const request = asRequest(message);
        if (request instanceof MnemoError) {
          const raw = (message as { id?: unknown })?.id;
          const id = typeof raw === 'number' || typeof raw === 'bigint' ? raw : 0;
          fail(id, request);
          return;
        }
        if (decoded instanceof InvalidText) {
          send(
            responseError(
              request.id,
              new MnemoError(
                ErrorCode.BAD_ARGS,
                'a string in the request is not valid UTF-8; send text as UTF-8 (or bytes as bin)',
              ),
            ),
          );
          continue;
        }
        if (this.closing) {
          send(responseError(request.id, new MnemoError(ErrorCode.BUSY, 'the daemon is shutting down')));
          continue;
        }
        if (conn.open >= this.limits.maxInFlight) {
          send(
            responseError(
              request.id,
              new MnemoError(
                ErrorCode.BUSY,
                `more than ${this.limits.maxInFlight} requests in flight on this connection`,
              ),
            ),
          );
          continue;
        }
        conn.open++;
        this.inFlight++;
        void this.run(request).then((response) => {
          conn.open--;
          conn.lastActive = performance.now();
          this.inFlight--;
          send(response);
          if (poisoned && conn.open === 0) finish();
          if (this.inFlight === 0 && this.lingering === 0) this.drained?.();
        });
      }
      if (reader.error && !poisoned) fail(0, reader.error);
    });
  }

  private async run(request: Request): Promise<Response> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let response: Response;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new MnemoError(ErrorCode.TIMEOUT, `${request.op} took longer than ${this.limits.requestTimeoutMs} ms`),
            ),
          this.limits.requestTimeoutMs,
        );
      });
      const work = this.handler(request);
      // A handler past its deadline is answered E_TIMEOUT but still counts as running until it settles, so a
      // shutdown waits for it before the engine closes under it.
      this.lingering++;
      void work.then(
        () => this.settled(),
        () => this.settled(),
      );
      response = { id: request.id, ok: true, result: await Promise.race([work, deadline]) };
    } catch (err) {
      if (!(err instanceof MnemoError)) this.events.onInternalError?.(request.op, err);
      response = responseError(request.id, err);
    } finally {
      clearTimeout(timer);
    }
    this.events.onRequest?.(request.op, performance.now() - started, !response.ok);
    return response;
  }

  private settled(): void {
    this.lingering--;
    if (this.lingering === 0 && this.inFlight === 0) this.drained?.();
  }

  /**
   * Stops accepting (requests that still arrive are answered E_BUSY), waits up to `graceMs` until every handler has
   * settled, then ends every connection once its replies are written. `keepPath`: the socket file now belongs to
   * someone else (a replaced socket), so the listening handle is left for the process exit instead of a close that
   * would unlink that path.
   */
  async close(graceMs = 10_000, keepPath = false): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let stopped = Promise.resolve();
    if (keepPath) this.server.unref();
    else stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.inFlight > 0 || this.lingering > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    await Promise.all(
      [...this.sockets.keys()].map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.end(() => resolve());
            setTimeout(() => {
              socket.destroy();
              resolve();
            }, 1000).unref();
          }),
      ),
    );
    await stopped;
  }
}

/** Checks a decoded message has the shape of a request; anything else is E_BAD_FRAME. */
function asRequest(message: unknown): Request | MnemoError {
  if (typeof message !== 'object' || message === null || Array.isArray(message) || message instanceof Uint8Array) {
    return new MnemoError(ErrorCode.BAD_FRAME, 'a request must be a map with `id` and `op`');
  }
  const { id, op } = message as { id?: unknown; op?: unknown };
  // An id beyond 2^53 arrives as a BigInt (see codec.ts) and is echoed back exactly.
  if (!((typeof id === 'number' && Number.isInteger(id) && id >= 0) || (typeof id === 'bigint' && id >= 0n))) {
    return new MnemoError(ErrorCode.BAD_FRAME, 'a request needs `id`, a non-negative integer');
  }
  if (typeof op !== 'string' || op.length === 0 || op.length > 64) {
    return new MnemoError(ErrorCode.BAD_FRAME, 'a request needs `op`, a string');
  }
  return message as Request;
}
