import { Packr } from 'msgpackr';

/**
 * The one MessagePack codec of the protocol. Plain maps and arrays only (no msgpackr records or structured-clone
 * extensions), so the C client and any other MessagePack library can read and write every frame.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', variableMapSize: true });

export const encodeMessage = (value: unknown): Buffer => packr.pack(value);
export const decodeMessage = (bytes: Buffer | Uint8Array): unknown => packr.unpack(bytes);
