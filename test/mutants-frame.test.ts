import { describe, expect, it } from 'vitest';
import { ErrorCode, MnemoError } from '../dist/engine-index.js';
import { encodeMessage } from '../dist/protocol/codec.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameReader, InvalidText } from '../dist/protocol/frame.js';

/**
 * The frame reader at its edges (issue 11, mutation testing of protocol/frame.ts): each test fails on a mutant of the
 * reader that survived the rest of the suite, and passes on the reader as it is.
 */

const head = (length: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
};
/** A frame whose body is `body` exactly, whatever its length says. */
const frameOf = (body: Buffer) => Buffer.concat([head(body.length), body]);

describe('frame encoding', () => {
  it('writes the body length big-endian in 4 bytes, then the MessagePack body', () => {
    const message = { id: 1, op: 'hello', args: { text: 'x'.repeat(300) } };
    const body = encodeMessage(message);
    const frame = encodeFrame(message);
    expect(frame.length).toBe(4 + body.length);
    expect(frame.readUInt32BE(0)).toBe(body.length);
    expect(frame.subarray(4)).toEqual(body);
  });
});

describe('the frame limit', () => {
  it('is 8 MiB by default: a header of exactly 8 MiB is waited on, one byte more is refused at once', () => {
    expect(DEFAULT_MAX_FRAME).toBe(8 * 1024 * 1024);
    const at = new FrameReader();
    expect(at.maxFrame).toBe(8 * 1024 * 1024);
    expect(at.push(head(8 * 1024 * 1024))).toEqual([]);
    expect(at.error).toBeNull();
    expect(at.midFrame).toBe(true);
    const over = new FrameReader();
    expect(over.push(head(8 * 1024 * 1024 + 1))).toEqual([]);
    expect(over.error).toBeInstanceOf(MnemoError);
    expect(over.error).toMatchObject({
      code: ErrorCode.TOO_LARGE,
      message: 'frame of 8388609 bytes is over the 8388608-byte limit',
    });
  });

  it('takes a whole frame of exactly the limit, and decodes it', () => {
    const body = encodeMessage('y'.repeat(90));
    const reader = new FrameReader(body.length);
    expect(reader.push(frameOf(body))).toEqual(['y'.repeat(90)]);
    expect(reader.error).toBeNull();
    const smaller = new FrameReader(body.length - 1);
    expect(smaller.push(frameOf(body))).toEqual([]);
    expect(smaller.error).toMatchObject({ code: ErrorCode.TOO_LARGE });
  });

  it('refuses an empty frame as E_BAD_FRAME, and is spent after it', () => {
    const reader = new FrameReader();
    expect(reader.push(Buffer.concat([head(0), encodeFrame({ id: 1 })]))).toEqual([]);
    expect(reader.error).toMatchObject({ code: ErrorCode.BAD_FRAME, message: 'empty frame' });
    expect(reader.push(encodeFrame({ id: 2 }))).toEqual([]);
  });

  it('is spent after a frame over the limit: later bytes are neither buffered nor decoded', () => {
    const reader = new FrameReader(16);
    reader.push(head(17));
    const pending = reader.pendingBytes;
    expect(reader.push(encodeFrame({ id: 3 }))).toEqual([]);
    expect(reader.pendingBytes).toBe(pending);
    expect(reader.error).toMatchObject({ code: ErrorCode.TOO_LARGE });
  });

  it('is spent after a body that does not decode, and says why', () => {
    const reader = new FrameReader();
    reader.push(frameOf(Buffer.from([0xd9, 0x05, 0x61])));
    expect(reader.error).toMatchObject({ code: ErrorCode.BAD_FRAME });
    expect(reader.error!.message).toMatch(/^frame body is not valid MessagePack: ./);
    expect(reader.push(encodeFrame({ id: 4 }))).toEqual([]);
    expect(reader.pendingBytes).toBe(0);
  });
});

describe('reading frames however the bytes arrive', () => {
  it('waits for the rest of a header split over reads, and counts what it holds', () => {
    const frame = encodeFrame({ id: 5, op: 'hello' });
    const reader = new FrameReader();
    expect(reader.midFrame).toBe(false);
    expect(reader.pendingBytes).toBe(0);
    expect(reader.push(frame.subarray(0, 3))).toEqual([]);
    expect(reader.pendingBytes).toBe(3);
    expect(reader.midFrame).toBe(true);
    // The header is complete and taken: the body is awaited, with nothing of it buffered yet.
    expect(reader.push(frame.subarray(3, 4))).toEqual([]);
    expect(reader.pendingBytes).toBe(0);
    expect(reader.midFrame).toBe(true);
    expect(reader.push(frame.subarray(4, 6))).toEqual([]);
    expect(reader.pendingBytes).toBe(2);
    expect(reader.push(frame.subarray(6))).toEqual([{ id: 5, op: 'hello' }]);
    expect(reader.pendingBytes).toBe(0);
    expect(reader.midFrame).toBe(false);
    expect(reader.error).toBeNull();
  });

  it('keeps the bytes of the next frame that came with the end of one', () => {
    const a = encodeFrame({ id: 6 });
    const b = encodeFrame({ id: 7, op: 'stats' });
    const reader = new FrameReader();
    expect(reader.push(Buffer.concat([a, b.subarray(0, 5)]))).toEqual([{ id: 6 }]);
    expect(reader.pendingBytes).toBe(1);
    expect(reader.push(b.subarray(5))).toEqual([{ id: 7, op: 'stats' }]);
  });

  it('joins a body that arrived in many reads in their order', () => {
    const message = { id: 8, args: { text: 'abcdefghijklmnopqrstuvwxyz'.repeat(4) } };
    const frame = encodeFrame(message);
    const reader = new FrameReader();
    const out: unknown[] = [];
    for (let i = 0; i < frame.length; i += 7) out.push(...reader.push(frame.subarray(i, i + 7)));
    expect(out).toEqual([message]);
  });
});

describe('the UTF-8 check', () => {
  // A MessagePack fixstr of 2 bytes that are not UTF-8.
  const badText = Buffer.from([0xa2, 0xc3, 0x28]);

  it('marks a message with invalid UTF-8 only when asked to check', () => {
    const checked = new FrameReader(DEFAULT_MAX_FRAME, true).push(frameOf(badText));
    expect(checked.length).toBe(1);
    expect(checked[0]).toBeInstanceOf(InvalidText);
    const unchecked = new FrameReader().push(frameOf(badText));
    expect(unchecked.length).toBe(1);
    expect(unchecked[0]).not.toBeInstanceOf(InvalidText);
    expect(typeof unchecked[0]).toBe('string');
  });

  it('passes valid text through unmarked when checking', () => {
    expect(new FrameReader(DEFAULT_MAX_FRAME, true).push(encodeFrame({ text: 'naïve 日本語' }))).toEqual([
      { text: 'naïve 日本語' },
    ]);
  });
});
