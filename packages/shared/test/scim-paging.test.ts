/**
 * The paging rules of the SCIM client, as pure functions: where the next page starts, when a listing ends, how
 * overlap is trimmed, and the bounded buffer for servers that return more than asked.
 */
import { describe, expect, it } from 'vitest';
import { Code, ConnectorError } from '../src/index.js';
import {
  advancePage,
  codeForScimError,
  MAX_LISTING_ITEMS,
  parseScimErrorBody,
  ScimPageBuffer,
} from '../src/scim/index.js';

const items = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ id: `u${from + i}` }));

describe('advancePage', () => {
  it('advances by the items returned, never by itemsPerPage or count', () => {
    // A server that echoes count=100 as itemsPerPage but returns 25 items.
    const page = advancePage(
      1,
      { totalResults: 60, itemsPerPage: 100, startIndex: 1, Resources: items(1, 25) },
      undefined,
      'users',
    );
    expect(page.fresh).toHaveLength(25);
    expect(page.nextStartIndex).toBe(26);
    expect(page.done).toBe(false);
  });

  it('stops at totalResults', () => {
    const page = advancePage(51, { totalResults: 60, Resources: items(51, 60) }, 'u50', 'users');
    expect(page).toMatchObject({ nextStartIndex: 61, done: true, totalResults: 60 });
  });

  it('stops on an empty page, noting a totalResults that promised more', () => {
    const early = advancePage(41, { totalResults: 60, Resources: [] }, 'u40', 'users');
    expect(early).toMatchObject({ done: true, fresh: [] });
    expect(early.note).toContain('empty page at startIndex 41 although totalResults is 60');
    const missing = advancePage(41, { totalResults: 40 }, 'u40', 'users');
    expect(missing).toMatchObject({ done: true, fresh: [] });
    expect(missing.note).toBeUndefined();
  });

  it('without totalResults, goes on until an empty page (with a safety cap)', () => {
    const page = advancePage(1, { Resources: items(1, 100) }, undefined, 'users');
    expect(page).toMatchObject({ nextStartIndex: 101, done: false });
    const capped = advancePage(MAX_LISTING_ITEMS, { Resources: items(1, 2) }, undefined, 'users');
    expect(capped.done).toBe(true);
  });

  it('trims items before the requested index when the server says it started earlier', () => {
    const page = advancePage(101, { totalResults: 250, startIndex: 1, Resources: items(1, 250) }, undefined, 'users');
    expect(page.fresh[0]!.id).toBe('u101');
    expect(page.fresh).toHaveLength(150);
    expect(page).toMatchObject({ nextStartIndex: 251, done: true });
  });

  it('trims an overlapping page by the id of the last item returned (no startIndex in the answer)', () => {
    // The server shifted by one: the page at 101 starts with the last item of the previous page.
    const page = advancePage(101, { totalResults: 250, Resources: items(100, 199) }, 'u100', 'users');
    expect(page.fresh[0]!.id).toBe('u101');
    expect(page.fresh).toHaveLength(99);
    expect(page.nextStartIndex).toBe(200);
  });

  it('ignores a startIndex of 0 (elimity) instead of trimming by it', () => {
    const page = advancePage(101, { totalResults: 250, startIndex: 0, Resources: items(101, 200) }, 'u100', 'users');
    expect(page.fresh).toHaveLength(100);
  });

  it('refuses a page of only repeated items instead of looping (server ignores startIndex)', () => {
    let err: unknown;
    try {
      advancePage(101, { totalResults: 250, Resources: items(1, 100) }, 'u100', 'users');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe(Code.FailedPrecondition);
    expect((err as ConnectorError).message).toContain('does not page by startIndex');
  });

  it('skips items without an id', () => {
    const page = advancePage(
      1,
      { totalResults: 3, Resources: [{ id: 'a' }, { id: '' }, {} as { id?: string }] },
      undefined,
      'x',
    );
    expect(page.fresh.map((i) => i.id)).toEqual(['a']);
    expect(page.done).toBe(true);
  });
});

describe('ScimPageBuffer', () => {
  it('serves the rest of a large page in host-sized slices, then says where the listing continues', () => {
    const buffer = new ScimPageBuffer(1_000);
    buffer.put('Users', 101, items(101, 250), 251, true);
    expect(buffer.size).toBe(150);
    expect(buffer.take('Users', 1, 100)).toBeUndefined(); // another startIndex: not ours
    const a = buffer.take<{ id: string }>('Users', 101, 100)!;
    expect(a.items[0]!.id).toBe('u101');
    expect(a).toMatchObject({ nextStartIndex: 201, done: false });
    const b = buffer.take<{ id: string }>('Users', 201, 100)!;
    expect(b.items).toHaveLength(50);
    expect(b).toMatchObject({ nextStartIndex: 251, done: true });
    expect(buffer.size).toBe(0);
  });

  it('is bounded: keeps at most maxItems, dropping the oldest listing and trimming what does not fit', () => {
    const buffer = new ScimPageBuffer(100);
    buffer.put('A', 1, items(1, 60), 61, false);
    buffer.put('B', 1, items(1, 60), 61, true);
    expect(buffer.take('A', 1, 10)).toBeUndefined();
    expect(buffer.size).toBe(60);
    buffer.put('C', 1, items(1, 500), 501, true);
    expect(buffer.size).toBe(100);
    const c = buffer.take('C', 1, 1_000)!;
    // Trimmed: the listing goes on at 101 with a request, it is not "done".
    expect(c).toMatchObject({ nextStartIndex: 101, done: false });
    const off = new ScimPageBuffer(0);
    off.put('A', 1, items(1, 5), 6, true);
    expect(off.size).toBe(0);
  });
});

describe('SCIM error bodies', () => {
  it.each([
    [400, undefined, Code.InvalidArgument],
    [400, 'invalidFilter', Code.InvalidArgument],
    [400, 'noTarget', Code.NotFound],
    [400, 'mutability', Code.FailedPrecondition],
    [400, 'tooMany', Code.ResourceExhausted],
    [401, undefined, Code.Unauthenticated],
    [403, undefined, Code.PermissionDenied],
    [404, undefined, Code.NotFound],
    [405, undefined, Code.Unimplemented],
    [409, 'uniqueness', Code.AlreadyExists],
    [412, undefined, Code.Aborted],
    [413, undefined, Code.ResourceExhausted],
    [429, undefined, Code.Unavailable],
    [501, undefined, Code.Unimplemented],
    [503, undefined, Code.Unavailable],
    [302, undefined, Code.Unknown],
  ])('%i %s -> %s', (status, scimType, code) => {
    expect(codeForScimError(status, scimType)).toBe(code);
  });

  it('reads status as a string or a number, scimType and detail; falls back to other shapes and text', () => {
    const scim = { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' };
    expect(parseScimErrorBody({ ...scim, detail: 'taken' })).toEqual({
      status: 409,
      scimType: 'uniqueness',
      detail: 'taken',
    });
    expect(parseScimErrorBody({ status: 404, detail: 'gone' })).toEqual({ status: 404, detail: 'gone' });
    expect(parseScimErrorBody({ message: 'Invalid Authorization Header' })).toEqual({
      detail: 'Invalid Authorization Header',
    });
    expect(parseScimErrorBody('<html><h1>502 Bad Gateway</h1></html>')).toEqual({ detail: '502 Bad Gateway' });
    expect(parseScimErrorBody({ status: 'nope', detail: 'x'.repeat(500) }).detail).toHaveLength(300);
    expect(
      parseScimErrorBody({ detail: 'token abc-123 refused' }, (t) => t.replace('abc-123', '[REDACTED]')).detail,
    ).toBe('token [REDACTED] refused');
    expect(parseScimErrorBody(undefined)).toEqual({});
  });
});
