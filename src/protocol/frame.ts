import { ErrorCode, MnemoError } from '../errors.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { hasInvalidUtf8 } from './utf8.js';

/** Default largest frame body, in bytes (docs/ARCHITECTURE.md, "Protocol": 8 MiB). */
export const DEFAULT_MAX_FRAME = 8 * 1024 * 1024;
const HEADER = 4;

/** A frame: 4-byte big-endian body length, then the MessagePack body. */
export function encodeFrame(message: unknown): Buffer {
  const body = encodeMessage(message);
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER);
  return frame;
}

/** A decoded message in which some string was not valid UTF-8 (only from a reader asked to check). */
export class InvalidText {
  constructor(readonly message: unknown) {}
}

/**
 * Collects bytes from a stream and hands back whole decoded messages, however the reads were split or merged. The
 * length is checked against the limit before anything is allocated for the body; a body that does not decode is an
 * E_BAD_FRAME error. After an error the reader is spent: the connection is to be closed.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;
  private failed = false;
  /** Why the stream is unreadable, once it is; messages decoded before it were still returned. */
  error: MnemoError | null = null;

  constructor(
    readonly maxFrame = DEFAULT_MAX_FRAME,
    private readonly checkUtf8 = false,
  ) {}

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Whether a frame has begun and not ended. */
  get midFrame(): boolean {
    return this.need >= 0 || this.buffered > 0;
  }

  /**
   * Adds bytes; returns the messages completed by them. A length over the limit or a body that does not decode sets
   * `error` (E_TOO_LARGE or E_BAD_FRAME): the messages before it are returned, nothing after.
   */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    try {
      this.collect(chunk, out);
    } catch (err) {
      this.error = err as MnemoError;
    }
    return out;
  }

  private collect(chunk: Buffer, out: unknown[]): void {
    if (this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < HEADER) break;
        const length = this.take(HEADER).readUInt32BE(0);
        if (length > this.maxFrame) {
          this.failed = true;
          throw new MnemoError(ErrorCode.TOO_LARGE, `frame of ${length} bytes is over the ${this.maxFrame}-byte limit`);
        }
        if (length === 0) {
          this.failed = true;
          throw new MnemoError(ErrorCode.BAD_FRAME, 'empty frame');
        }
        this.need = length;
      }
      if (this.buffered < this.need) break;
      const body = this.take(this.need);
      this.need = -1;
      try {
        const message = decodeMessage(body);
        out.push(this.checkUtf8 && hasInvalidUtf8(body) ? new InvalidText(message) : message);
      } catch (err) {
        this.failed = true;
        throw new MnemoError(ErrorCode.BAD_FRAME, `frame body is not valid MessagePack: ${(err as Error).message}`);
      }
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }
}
