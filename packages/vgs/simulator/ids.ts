/** Id shapes of the real API: `ID…`/`AC…` + 22 base58 characters, vault identifiers `tnt` + 8 characters. */
import type { SeededRandom } from '@baton-ts/shared/simulator';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function draw(rng: SeededRandom, alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(0, alphabet.length - 1)];
  return out;
}

export const userId = (rng: SeededRandom) => `ID${draw(rng, BASE58, 22)}`;
export const organizationId = (rng: SeededRandom) => `AC${draw(rng, BASE58, 22)}`;
export const vaultIdentifier = (rng: SeededRandom) => `tnt${draw(rng, LOWER_ALNUM, 8)}`;
export const inviteId = (rng: SeededRandom) => `IV${draw(rng, BASE58, 22)}`;
export const clientIdFor = (rng: SeededRandom, name: string) => `${name}-${draw(rng, BASE58, 8)}`;
export const secret = (rng: SeededRandom) => draw(rng, BASE58, 32);

/** A UUID-shaped id for internal ids the connector never uses. */
export function uuid(rng: SeededRandom): string {
  const hex = draw(rng, '0123456789abcdef', 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
