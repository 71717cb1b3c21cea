/**
 * Twingate ids and cursors are graphene-relay style: base64 of `Type:number` and of `arrayconnection:offset`.
 * Clients must treat both as opaque; the simulator decodes them leniently because the real API does.
 */

export type NodeTypeName = 'User' | 'Group';

export function encodeId(type: NodeTypeName, n: number): string {
  return Buffer.from(`${type}:${n}`, 'utf8').toString('base64');
}

/** The number inside an id of the given type, or null for anything else (wrong type, garbage, not base64). */
export function decodeId(id: string, type: NodeTypeName): number | null {
  const decoded = decodeBase64(id);
  if (decoded === null) return null;
  const match = /^([A-Za-z]+):(\d+)$/.exec(decoded);
  if (!match || match[1] !== type) return null;
  const n = Number(match[2]);
  return Number.isSafeInteger(n) ? n : null;
}

const CURSOR_PREFIX = 'arrayconnection:';

export function encodeCursor(offset: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${offset}`, 'utf8').toString('base64');
}

/**
 * Offset inside a cursor, or null when the cursor is unreadable. Callers treat null as "start": the Go connector
 * sends `after: "<nil>"` on its first page and Twingate's CLI sends `after: "0"`, and both work against the real API.
 */
export function decodeCursor(cursor: string | null | undefined): number | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  const decoded = decodeBase64(cursor);
  if (decoded === null || !decoded.startsWith(CURSOR_PREFIX)) return null;
  const digits = decoded.slice(CURSOR_PREFIX.length);
  if (!/^\d+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

function decodeBase64(text: string): string | null {
  // Buffer.from(..., "base64") silently skips invalid characters; insist on a well-formed string instead.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) && !/^[A-Za-z0-9_-]+={0,2}$/.test(text)) return null;
  const decoded = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64').toString('utf8');
  return decoded.length > 0 ? decoded : null;
}
