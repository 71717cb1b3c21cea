/**
 * KSUIDs as `segmentio/ksuid` makes them: 20 bytes = a 4-byte big-endian timestamp (seconds since the KSUID
 * epoch 1400000000) followed by 16 random bytes, written as 27 characters of base62 (0-9, A-Z, a-z), left-padded
 * with '0'. Because the timestamp leads and the alphabet is in ASCII order, KSUIDs sort by creation second.
 */
import { randomBytes } from 'node:crypto';

export const KSUID_EPOCH_SECONDS = 1_400_000_000;
export const KSUID_STRING_LENGTH = 27;
const PAYLOAD_BYTES = 16;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A new KSUID for `now` (the timestamp is only whole seconds). */
export function newKsuid(now: Date = new Date(), payload: Uint8Array = randomBytes(PAYLOAD_BYTES)): string {
  if (payload.length !== PAYLOAD_BYTES) throw new Error(`ksuid payload must be ${PAYLOAD_BYTES} bytes`);
  const seconds = Math.floor(now.getTime() / 1000) - KSUID_EPOCH_SECONDS;
  if (seconds < 0 || seconds > 0xffffffff) throw new Error('time is outside the KSUID range');
  const raw = new Uint8Array(4 + PAYLOAD_BYTES);
  new DataView(raw.buffer).setUint32(0, seconds, false);
  raw.set(payload, 4);
  let n = 0n;
  for (const b of raw) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(KSUID_STRING_LENGTH, '0');
}

/** Decodes a KSUID string; throws on anything that is not 27 base62 characters within the 160-bit range. */
export function parseKsuid(id: string): { time: Date; payload: Uint8Array } {
  if (id.length !== KSUID_STRING_LENGTH) throw new Error(`a KSUID has ${KSUID_STRING_LENGTH} characters`);
  let n = 0n;
  for (const ch of id) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) throw new Error(`invalid KSUID character ${JSON.stringify(ch)}`);
    n = n * 62n + BigInt(digit);
  }
  if (n >> 160n !== 0n) throw new Error('KSUID value out of range');
  const raw = new Uint8Array(20);
  for (let i = 19; i >= 0; i--) {
    raw[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  const seconds = new DataView(raw.buffer).getUint32(0, false);
  return { time: new Date((seconds + KSUID_EPOCH_SECONDS) * 1000), payload: raw.slice(4) };
}

export function isKsuid(id: string): boolean {
  try {
    parseKsuid(id);
    return true;
  } catch {
    return false;
  }
}
