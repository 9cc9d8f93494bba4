import { Packr } from 'msgpackr';

/**
 * The one MessagePack codec of the protocol. Plain maps and arrays only (no msgpackr records or structured-clone
 * extensions), so the C client and any other MessagePack library can read and write every frame.
 */
// 64-bit integers beyond 2^53 decode as BigInt ('auto'), not as a rounded number: a request id of 2^53 + 1 comes back
// exactly, and a huge value in an argument is refused by its field check rather than silently changed.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // msgpackr's types do not list 'auto' yet; its README and code do.
  int64AsType: 'auto' as 'bigint',
  variableMapSize: true,
});

export const encodeMessage = (value: unknown): Buffer => packr.pack(value);
export const decodeMessage = (bytes: Buffer | Uint8Array): unknown => packr.unpack(bytes);
