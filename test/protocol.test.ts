import { describe, expect, it } from 'vitest';
import { ErrorCode, MnemoError } from '../dist/engine-index.js';
import { encodeFrame, FrameReader } from '../dist/protocol/frame.js';
import { toErrorBody } from '../dist/protocol/messages.js';

const request = { id: 7, op: 'search', args: { query: 'naïve 日本語 🚀', limit: 5, tags: ['a', 'b'] } };

describe('frame codec', () => {
  it('round-trips a message', () => {
    expect(new FrameReader().push(encodeFrame(request))).toEqual([request]);
  });

  it('handles frames split at every byte and merged in one read', () => {
    const frames = Buffer.concat([
      encodeFrame(request),
      encodeFrame({ id: 8, op: 'hello' }),
      encodeFrame({ id: 9, op: 'x', args: { b: Buffer.from([0, 255]) } }),
    ]);
    const reader = new FrameReader();
    const out: unknown[] = [];
    for (let i = 0; i < frames.length; i++) out.push(...reader.push(frames.subarray(i, i + 1)));
    expect(out.length).toBe(3);
    expect(out[0]).toEqual(request);
    expect(Buffer.from((out[2] as { args: { b: Uint8Array } }).args.b)).toEqual(Buffer.from([0, 255]));
    expect(new FrameReader().push(frames).length).toBe(3);
    expect(reader.pendingBytes).toBe(0);
  });

  it('refuses a length over the limit before allocating it', () => {
    const reader = new FrameReader(1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(0xffffffff);
    expect(reader.push(head)).toEqual([]);
    expect(reader.error).toMatchObject({ code: ErrorCode.TOO_LARGE });
    // Spent after an error: no more messages from it.
    expect(reader.push(encodeFrame(request))).toEqual([]);
  });

  it('turns garbage into E_BAD_FRAME, never a crash', () => {
    const bodies = [Buffer.from([0xc1]), Buffer.from([0xd9, 0x05, 0x61]), Buffer.from('not msgpack at all, just text')];
    let typed = 0;
    for (const body of bodies) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      const reader = new FrameReader();
      reader.push(Buffer.concat([head, body]));
      if (reader.error) {
        expect(reader.error).toBeInstanceOf(MnemoError);
        expect(reader.error.code).toBe(ErrorCode.BAD_FRAME);
        typed++;
      }
    }
    // Plain text can decode as a MessagePack value (a small int); the shape check rejects it later.
    expect(typed).toBeGreaterThanOrEqual(2);
    const empty = new FrameReader();
    empty.push(Buffer.alloc(4));
    expect(empty.error).toMatchObject({ code: ErrorCode.BAD_FRAME });
  });

  it('still returns the whole frames read before a bad one', () => {
    const reader = new FrameReader();
    const bad = Buffer.from([0, 0, 0, 3, 0xd9, 0x05, 0x61]); // a str that claims 5 bytes and has 1
    const out = reader.push(Buffer.concat([encodeFrame(request), encodeFrame({ id: 8, op: 'hello' }), bad]));
    expect(out).toEqual([request, { id: 8, op: 'hello' }]);
    expect(reader.error).toMatchObject({ code: ErrorCode.BAD_FRAME });
  });
});

describe('errors on the wire', () => {
  const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('gives storage faults their own code and a sentence to act on, by SQLite result code (extended codes too)', () => {
    expect(toErrorBody(sqliteError('SQLITE_FULL', 'database or disk is full'))).toEqual({
      code: ErrorCode.STORAGE,
      message:
        'the disk holding the database is full; free some space (nothing stored was lost) (database or disk is full)',
    });
    expect(toErrorBody(sqliteError('SQLITE_IOERR_WRITE', 'disk I/O error')).code).toBe(ErrorCode.STORAGE);
    expect(toErrorBody(sqliteError('SQLITE_READONLY_DBMOVED', 'attempt to write a readonly database')).message).toMatch(
      /^the database cannot be written/,
    );
    expect(toErrorBody(sqliteError('SQLITE_CORRUPT_VTAB', 'malformed')).message).toMatch(/^the database is damaged/);
  });

  it('keeps a MnemoError as it is and calls anything else E_INTERNAL', () => {
    expect(toErrorBody(new MnemoError(ErrorCode.BUSY, 'busy'))).toEqual({ code: ErrorCode.BUSY, message: 'busy' });
    expect(toErrorBody(sqliteError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed'))).toEqual({
      code: ErrorCode.INTERNAL,
      message: 'UNIQUE constraint failed',
    });
    expect(toErrorBody('a string')).toEqual({ code: ErrorCode.INTERNAL, message: 'a string' });
  });
});
