import { describe, expect, it } from 'vitest';
import { ListingIndex } from '../src/sdk/listing-index.js';
import { LeakyBucketRateLimiter } from '../src/simulator/index.js';

const page = (from: string | undefined, next: string | undefined, ids: string[], syncId = 's1') => ({
  from,
  next,
  entries: ids.map((id) => [id, `v-${id}`] as const),
  syncId,
});

describe('ListingIndex', () => {
  it('answers once an unbroken chain of pages from the first to the last is recorded, for that sync only', () => {
    const index = new ListingIndex<string>();
    index.record(page(undefined, 'p2', ['a', 'b']));
    expect(index.snapshot('s1')).toBeUndefined();
    index.record(page('p2', 'p3', ['c']));
    index.record(page('p3', undefined, ['d', 'a']));
    expect(index.complete).toBe(true);
    expect([...index.snapshot('s1')!]).toEqual([
      ['a', 'v-a'],
      ['b', 'v-b'],
      ['c', 'v-c'],
      ['d', 'v-d'],
    ]);
    expect(index.snapshot('other')).toBeUndefined();
  });

  it('a page out of the chain, another sync id, or invalidate() make it unusable until a new first page', () => {
    const index = new ListingIndex<string>();
    index.record(page(undefined, 'p2', ['a']));
    index.record(page('p3', undefined, ['c']));
    expect(index.snapshot('s1')).toBeUndefined();
    expect(index.size).toBe(0);

    index.record(page(undefined, 'p2', ['a']));
    index.record(page('p2', undefined, ['b'], 's2'));
    expect(index.snapshot('s1')).toBeUndefined();
    expect(index.snapshot('s2')).toBeUndefined();

    index.record(page(undefined, undefined, ['a']));
    const generation = index.generation;
    expect(index.snapshot('s1')?.size).toBe(1);
    index.invalidate();
    expect(index.snapshot('s1')).toBeUndefined();
    expect(index.generation).not.toBe(generation);
    // A continuation after invalidation does not revive it.
    index.record(page('p2', undefined, ['b']));
    expect(index.complete).toBe(false);
  });

  it('keysWithValue groups ids by value in listing order, per listing, and only when complete', () => {
    const index = new ListingIndex<string>();
    const roles = (from: string | undefined, next: string | undefined, pairs: Array<[string, string]>) => ({
      from,
      next,
      entries: pairs,
      syncId: 's1',
    });
    index.record(
      roles(undefined, 'p2', [
        ['u1', 'ADMIN'],
        ['u2', 'MEMBER'],
      ]),
    );
    expect(index.keysWithValue('ADMIN', 's1')).toBeUndefined();
    index.record(
      roles('p2', undefined, [
        ['u3', 'ADMIN'],
        ['u2', 'ADMIN'],
      ]),
    );
    // u2 keeps its first position and its latest value.
    expect(index.keysWithValue('ADMIN', 's1')).toEqual(['u1', 'u2', 'u3']);
    expect(index.keysWithValue('MEMBER', 's1')).toEqual([]);
    expect(index.keysWithValue('ADMIN', 'other')).toBeUndefined();
    // A new listing is grouped anew.
    index.record(roles(undefined, undefined, [['u9', 'MEMBER']]));
    expect(index.keysWithValue('MEMBER', 's1')).toEqual(['u9']);
    expect(index.keysWithValue('ADMIN', 's1')).toEqual([]);
    index.invalidate();
    expect(index.keysWithValue('MEMBER', 's1')).toBeUndefined();
  });

  it('stops at maxEntries', () => {
    const index = new ListingIndex<string>({ maxEntries: 2 });
    index.record(page(undefined, undefined, ['a', 'b', 'c']));
    expect(index.complete).toBe(false);
    expect(index.size).toBe(0);
    index.record(page(undefined, undefined, ['a', 'b']));
    expect(index.complete).toBe(true);
    index.clear();
    expect(index.size).toBe(0);
  });
});

describe('LeakyBucketRateLimiter', () => {
  it('admits a burst, then drains at the rate, with Retry-After in whole seconds', () => {
    let now = 1_000_000;
    const limiter = new LeakyBucketRateLimiter({ buckets: { api: { burst: 5, perSecond: 2 } }, clock: () => now });
    for (let i = 0; i < 5; i++) expect(limiter.take('acct', 'api').allowed).toBe(true);
    const refused = limiter.take('acct', 'api');
    expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0, retryAfterSeconds: 1 });
    // Another identity or an unlimited class is not affected.
    expect(limiter.take('other', 'api').allowed).toBe(true);
    expect(limiter.take('acct', 'none')).toMatchObject({ allowed: true, limited: false });
    now += 500; // one request drained
    expect(limiter.take('acct', 'api').allowed).toBe(true);
    expect(limiter.take('acct', 'api').allowed).toBe(false);
    now += 3_000; // six drained: the bucket is empty again
    for (let i = 0; i < 5; i++) expect(limiter.take('acct', 'api').allowed).toBe(true);
    limiter.setBuckets({ api: undefined });
    expect(limiter.take('acct', 'api').allowed).toBe(true);
    limiter.setBuckets({ api: { burst: 1, perSecond: 0.25 } });
    limiter.reset();
    expect(limiter.take('acct', 'api').allowed).toBe(true);
    expect(limiter.take('acct', 'api')).toMatchObject({ allowed: false, retryAfterSeconds: 4 });
    expect(limiter.getBuckets()).toEqual({ api: { burst: 1, perSecond: 0.25 } });
  });
});
