/**
 * Index paging (RFC 7644 §3.4.2.4) that stays correct on the servers found in the wild:
 *
 * - 1-based `startIndex`; the next page starts after the items that were *returned*, never after `count` or the
 *   server's `itemsPerPage` (which some servers set to the requested count);
 * - a server that caps `count` (returns fewer) simply takes more pages; one that ignores `count` (returns more, up to
 *   everything) is read once: what does not fit into the page the host asked for is kept in a bounded buffer and
 *   served from memory;
 * - a page that repeats items already returned (a server that ignores `startIndex`, or data that shifted between
 *   requests) is trimmed by the id of the last item returned, which the page state carries; a non-empty page with
 *   nothing new is an error, never a loop;
 * - the listing stops at `totalResults`, at an empty page, or at a hard cap of items when there is no total.
 *
 * The page state is self-contained ({startIndex, lastId}), so a host can resume it in a new process; the buffer
 * is an optimisation that a new process simply does not have. docs/apis/scim.md explains each rule.
 */
import { failedPrecondition } from '../sdk/errors.js';
import type { ScimListResponse } from './types.js';

/** What the syncers keep in a page token. */
export interface ScimPageState {
  /** 1-based index of the next item to read. */
  startIndex: number;
  /** Id of the last item already returned, to trim an overlapping page. */
  lastId?: string;
}

/** Listings without `totalResults` stop here (a safety net against a server that never returns an empty page). */
export const MAX_LISTING_ITEMS = 10_000_000;

export interface PageAdvance<T> {
  /** Items at and after the requested startIndex, overlap removed, in server order. */
  fresh: T[];
  /** startIndex of the item after the last fresh one. */
  nextStartIndex: number;
  /** True when nothing follows: totalResults reached, an empty page, or the safety cap. */
  done: boolean;
  totalResults?: number;
  /** Why the listing ended early or looked wrong (for a warning), if it did. */
  note?: string;
}

function nonNegativeInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Interprets one list response for a request at `startIndex` after an item with id `lastId`. Throws
 * FAILED_PRECONDITION when a non-empty page holds nothing new (the server ignores startIndex).
 */
export function advancePage<T extends { id?: unknown }>(
  startIndex: number,
  response: ScimListResponse<T> | undefined,
  lastId: string | undefined,
  what: string,
): PageAdvance<T> {
  const items = Array.isArray(response?.Resources) ? response.Resources : [];
  const total = nonNegativeInt(response?.totalResults);
  if (items.length === 0) {
    const early = total !== undefined && startIndex <= total;
    return {
      fresh: [],
      nextStartIndex: startIndex,
      done: true,
      totalResults: total,
      note: early
        ? `the server returned an empty page at startIndex ${startIndex} although totalResults is ${total}; the listing ends here`
        : undefined,
    };
  }

  // Where the page starts, by the server's own account; elimity-style servers say 0, which means nothing.
  const reportedStart = nonNegativeInt(response?.startIndex);
  let offset =
    reportedStart !== undefined && reportedStart >= 1 && reportedStart < startIndex ? startIndex - reportedStart : 0;
  if (lastId !== undefined) {
    const seen = items.findIndex((item) => item?.id === lastId);
    if (seen >= 0) offset = Math.max(offset, seen + 1);
  }
  const fresh = items.slice(offset).filter((item) => typeof item?.id === 'string' && item.id !== '');
  if (fresh.length === 0) {
    throw failedPrecondition(
      `the SCIM server returned ${items.length} ${what} at startIndex ${startIndex} that were all returned before: ` +
        'it does not page by startIndex, so the listing cannot continue without repeating itself',
    );
  }
  const consumed = items.length - offset;
  const nextStartIndex = startIndex + consumed;
  const done = total !== undefined ? nextStartIndex > total : nextStartIndex > MAX_LISTING_ITEMS;
  return { fresh, nextStartIndex, done, totalResults: total };
}

interface BufferedPage {
  startIndex: number;
  items: unknown[];
  /** Where the listing continues after these items, and whether it ends there. */
  nextStartIndex: number;
  done: boolean;
}

/**
 * Items a server returned beyond the page the host asked for, keyed by listing (path and query), waiting for the
 * next page request at exactly their startIndex. Bounded: at most `maxItems` items are kept over all listings,
 * the oldest listing's leftovers are dropped first, and a page that does not fit is trimmed (the listing then
 * requests the rest from the server).
 */
export class ScimPageBuffer {
  private readonly pages = new Map<string, BufferedPage>();
  private held = 0;

  constructor(private readonly maxItems = 50_000) {}

  /** Keeps `items` (starting at `startIndex`) for listing `key`; `nextStartIndex`/`done` describe what follows. */
  put(key: string, startIndex: number, items: unknown[], nextStartIndex: number, done: boolean): void {
    this.delete(key);
    if (items.length === 0 || this.maxItems <= 0) return;
    let kept = items;
    let next = nextStartIndex;
    let end = done;
    if (kept.length > this.maxItems) {
      kept = kept.slice(0, this.maxItems);
      next = startIndex + kept.length;
      end = false;
    }
    while (this.held + kept.length > this.maxItems) {
      const oldest = this.pages.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.pages.set(key, { startIndex, items: kept, nextStartIndex: next, done: end });
    this.held += kept.length;
  }

  /**
   * Up to `size` buffered items of listing `key` starting exactly at `startIndex` (the rest stays buffered), with
   * where the listing continues; undefined when nothing is buffered there.
   */
  take<T>(
    key: string,
    startIndex: number,
    size: number,
  ): { items: T[]; nextStartIndex: number; done: boolean } | undefined {
    const page = this.pages.get(key);
    if (!page || page.startIndex !== startIndex) return undefined;
    this.delete(key);
    const items = page.items.slice(0, size) as T[];
    const rest = page.items.slice(size);
    if (rest.length === 0) return { items, nextStartIndex: page.nextStartIndex, done: page.done };
    this.put(key, startIndex + items.length, rest, page.nextStartIndex, page.done);
    return { items, nextStartIndex: startIndex + items.length, done: false };
  }

  clear(): void {
    this.pages.clear();
    this.held = 0;
  }

  /** Items held over all listings. */
  get size(): number {
    return this.held;
  }

  private delete(key: string): void {
    const page = this.pages.get(key);
    if (!page) return;
    this.pages.delete(key);
    this.held -= page.items.length;
  }
}
