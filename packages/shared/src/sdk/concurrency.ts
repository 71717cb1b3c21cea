/**
 * Bounded concurrency for independent API reads inside one RPC (e.g. one request per vault): at most `limit` calls
 * run at once, results come back in input order, and the first failure rejects the whole map (calls already
 * running finish, no new ones start).
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(Math.floor(limit), items.length)) }, worker);
  await Promise.all(workers);
  return results;
}
