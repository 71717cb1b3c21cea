/**
 * What one resource listing learned about every item it returned, kept so that later phases of the same sync can
 * answer from it instead of reading the API again (e.g. role grants from the `role` field the users listing already
 * returned). A Baton host lists every resource of every type before it asks for any entitlement or grant, so by
 * then the listing is over.
 *
 * The index is an optimisation, so it answers only when it certainly holds the whole listing:
 * - complete: the pages were recorded in one unbroken chain, from a first page (`from` undefined) through pages that
 *   each start where the previous one said the next would (`from` equals the previous `next`), to a last page (`next`
 *   undefined). A page out of that chain (a retried or concurrent listing) abandons the index; a new first page
 *   starts it afresh;
 * - same sync: it remembers the host's sync id (`CallContext.syncId`) of the listing and answers nothing for another
 *   one, so a host that asks for grants without listing first never gets another sync's data;
 * - bounded: past `maxEntries` items it stops recording and stays unusable until the next listing;
 * - current: `invalidate()` (e.g. after provisioning changed an item) drops it until the next listing.
 * Callers fall back to the API whenever `snapshot()` answers undefined.
 */

export interface ListingIndexOptions {
  /** Items recorded at most (default 250,000); a larger listing leaves the index unusable. */
  maxEntries?: number;
}

/** One page of a listing, as the syncer returned it. */
export interface ListedPage<V> {
  /** Where this page started (e.g. the encoded page state); undefined for the first page. */
  from: string | undefined;
  /** Where the next page starts; undefined when this was the last page. */
  next: string | undefined;
  /** Item id -> what to remember about it. A repeated id keeps its first position and its latest value. */
  entries: Iterable<readonly [string, V]>;
  /** `CallContext.syncId` of the listing call. */
  syncId: string | undefined;
}

type State = 'empty' | 'recording' | 'complete' | 'unusable';

export class ListingIndex<V> {
  private readonly maxEntries: number;
  private state: State = 'empty';
  private syncId: string | undefined;
  private expectedFrom: string | undefined;
  private readonly items = new Map<string, V>();
  private version = 0;
  /** Item ids by value, built on the first `keysWithValue` after each completed listing. */
  private byValue: { generation: number; keys: Map<V, string[]> } | undefined;

  constructor(options: ListingIndexOptions = {}) {
    this.maxEntries = options.maxEntries ?? 250_000;
  }

  /** Called by the syncer for every page it lists. */
  record(page: ListedPage<V>): void {
    if (page.from === undefined) {
      this.reset();
      this.state = 'recording';
      this.syncId = page.syncId;
    } else if (this.state !== 'recording' || page.from !== this.expectedFrom || page.syncId !== this.syncId) {
      if (this.state === 'recording' || this.state === 'complete') this.abandon();
      return;
    }
    for (const [id, value] of page.entries) this.items.set(id, value);
    if (this.items.size > this.maxEntries) {
      this.abandon();
      return;
    }
    if (page.next === undefined) {
      this.state = 'complete';
      this.version++;
    } else {
      this.expectedFrom = page.next;
    }
  }

  /** Every recorded item in listing order, or undefined unless a complete listing of sync `syncId` is held. */
  snapshot(syncId: string | undefined): ReadonlyMap<string, V> | undefined {
    return this.state === 'complete' && syncId === this.syncId ? this.items : undefined;
  }

  /**
   * Ids of the items whose value is `value`, in listing order (e.g. the users holding a role), or undefined unless a
   * complete listing of sync `syncId` is held. Grouped once per listing.
   */
  keysWithValue(value: V, syncId: string | undefined): readonly string[] | undefined {
    const snapshot = this.snapshot(syncId);
    if (!snapshot) return undefined;
    if (this.byValue?.generation !== this.version) {
      const keys = new Map<V, string[]>();
      for (const [id, itemValue] of snapshot) {
        let ids = keys.get(itemValue);
        if (!ids) keys.set(itemValue, (ids = []));
        ids.push(id);
      }
      this.byValue = { generation: this.version, keys };
    }
    return this.byValue.keys.get(value) ?? [];
  }

  /** Changes whenever a listing completes or the index is dropped: lets callers cache what they derive from it. */
  get generation(): number {
    return this.version;
  }

  /** The source changed in a way the index does not follow: unusable until the next listing. */
  invalidate(): void {
    if (this.state !== 'empty') this.abandon();
  }

  /** Frees the memory (connector cleanup). */
  clear(): void {
    this.reset();
  }

  get complete(): boolean {
    return this.state === 'complete';
  }

  /** Items recorded (0 once abandoned or cleared). */
  get size(): number {
    return this.items.size;
  }

  private abandon(): void {
    this.reset();
    this.state = 'unusable';
  }

  private reset(): void {
    this.state = 'empty';
    this.syncId = undefined;
    this.expectedFrom = undefined;
    this.items.clear();
    this.byValue = undefined;
    this.version++;
  }
}
