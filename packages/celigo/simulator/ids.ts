/**
 * MongoDB-style ObjectIds, as Celigo uses: 24 hex digits, a 4-byte timestamp first. Generated from a counter so the
 * same dataset always has the same ids, and ids sort in creation order (the order lists are paged in).
 */
export function objectId(kind: 'share' | 'person' | 'integration', n: number, epochSeconds: number): string {
  const tag = { share: 0x5a, person: 0x62, integration: 0x1e }[kind];
  const time = (epochSeconds + n).toString(16).padStart(8, '0').slice(-8);
  return `${time}${tag.toString(16).padStart(2, '0')}${'c0ffee'}${n.toString(16).padStart(8, '0')}`;
}
