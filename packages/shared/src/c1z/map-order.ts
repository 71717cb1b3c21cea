/** Map-key order of Go's deterministic marshalling. */

/** Go's map-key order: booleans false first, integers numerically, strings by UTF-8 bytes. */
export function compareMapKeys(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  const x = typeof a === 'bigint' ? a : BigInt(a as number | string);
  const y = typeof b === 'bigint' ? b : BigInt(b as number | string);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares by Unicode code point, which is the same order as comparing UTF-8 bytes. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF, so they sort after every other BMP unit.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}
