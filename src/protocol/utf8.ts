import { isUtf8 } from 'node:buffer';

/**
 * True when some MessagePack `str` in `body` is not valid UTF-8. msgpackr quietly turns such bytes into U+FFFD, which
 * would store damaged text; the daemon answers E_BAD_ARGS instead. `bin` values (hook payloads) are not text and are
 * not checked. Walks the encoding without building anything; a malformed body returns false and is left to the decoder.
 */
export function hasInvalidUtf8(body: Uint8Array): boolean {
  let pos = 0;
  const need = (n: number) => pos + n <= body.length;
  const u = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + body[pos + i]!;
    return v;
  };
  // Each entry is a count of values still to walk at one nesting level.
  const stack: number[] = [1];
  while (stack.length > 0) {
    if (stack[stack.length - 1] === 0) {
      stack.pop();
      continue;
    }
    stack[stack.length - 1]!--;
    if (!need(1)) return false;
    const t = body[pos]!;
    let strLen = -1;
    let skip: number;
    let children = 0;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) skip = 1;
    else if ((t & 0xf0) === 0x80) [skip, children] = [1, (t & 0x0f) * 2];
    else if ((t & 0xf0) === 0x90) [skip, children] = [1, t & 0x0f];
    else if ((t & 0xe0) === 0xa0) [skip, strLen] = [1, t & 0x1f];
    else {
      // One msgpack type byte a line, read as a table (Prettier would spread each over five lines).
      // prettier-ignore
      switch (t) {
        case 0xd9: if (!need(2)) return false; pos++; strLen = u(1); skip = 1; break;
        case 0xda: if (!need(3)) return false; pos++; strLen = u(2); skip = 2; break;
        case 0xdb: if (!need(5)) return false; pos++; strLen = u(4); skip = 4; break;
        case 0xc4: if (!need(2)) return false; pos++; skip = 1 + u(1); break;
        case 0xc5: if (!need(3)) return false; pos++; skip = 2 + u(2); break;
        case 0xc6: if (!need(5)) return false; pos++; skip = 4 + u(4); break;
        case 0xdc: if (!need(3)) return false; pos++; children = u(2); skip = 2; break;
        case 0xdd: if (!need(5)) return false; pos++; children = u(4); skip = 4; break;
        case 0xde: if (!need(3)) return false; pos++; children = u(2) * 2; skip = 2; break;
        case 0xdf: if (!need(5)) return false; pos++; children = u(4) * 2; skip = 4; break;
        case 0xcc: case 0xd0: skip = 2; break;
        case 0xcd: case 0xd1: skip = 3; break;
        case 0xca: case 0xce: case 0xd2: skip = 5; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 9; break;
        case 0xd4: skip = 3; break;
        case 0xd5: skip = 4; break;
        case 0xd6: skip = 6; break;
        case 0xd7: skip = 10; break;
        case 0xd8: skip = 18; break;
        case 0xc7: if (!need(2)) return false; skip = 3 + body[pos + 1]!; break;
        case 0xc8: if (!need(3)) return false; pos++; skip = 3 + u(2); break;
        case 0xc9: if (!need(5)) return false; pos++; skip = 5 + u(4); break;
        default: return false;
      }
    }
    pos += skip;
    if (strLen >= 0) {
      if (!need(strLen)) return false;
      if (!isUtf8(body.subarray(pos, pos + strLen))) return true;
      pos += strLen;
    }
    if (children > 0) stack.push(children);
  }
  return false;
}
