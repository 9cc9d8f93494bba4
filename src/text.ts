/**
 * `text.slice(start, end)` that never cuts a surrogate pair in half: a half pair is not valid Unicode, cannot be
 * stored as UTF-8, and is refused by the store (so a cut emoji would make a whole memory fail).
 */
export function sliceChars(text: string, start: number, end = text.length): string {
  let s = Math.max(0, start);
  let e = Math.min(text.length, end);
  if (s > 0 && s < text.length && isLow(text.charCodeAt(s))) s++;
  if (e > 0 && e < text.length && isHigh(text.charCodeAt(e - 1))) e--;
  return text.slice(s, Math.max(s, e));
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
