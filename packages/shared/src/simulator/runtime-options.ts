/** Changing a running simulator's options; `rateLimits` reach its rate limiter at once. */
export interface RuntimeOptionsControl<T> {
  /**
   * Merges `update` into the options: a field that holds a plain object (`rateLimits`) is merged key by key (class by
   * class), any other field is replaced; `undefined` leaves a field as it is.
   */
  setOptions(update: Partial<T>): void;
  /** A copy of the current options. */
  options(): T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `setOptions`/`options` pair every bundled simulator offers, over a mutable options object that its route
 * handlers read on each request. After each update, `apply` pushes what the handlers do not read themselves to where
 * it acts, e.g. `(o) => rateLimiter.setLimits(o.rateLimits)`.
 */
export function runtimeOptionsControl<T extends object>(
  runtime: T,
  apply: (options: T) => void,
): RuntimeOptionsControl<T> {
  const fields = runtime as Record<string, unknown>;
  return {
    setOptions(update) {
      for (const [key, value] of Object.entries(update)) {
        if (value === undefined) continue;
        const current = fields[key];
        fields[key] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
      }
      apply(runtime);
    },
    options: () => structuredClone(runtime),
  };
}

/** A dataset preset by name, or the spec itself; an unknown name is an error listing the presets. */
export function resolvePreset<Spec>(presets: Readonly<Record<string, Spec>>, dataset: string | Spec): Spec {
  if (typeof dataset !== 'string') return dataset;
  const spec = Object.prototype.hasOwnProperty.call(presets, dataset) ? presets[dataset] : undefined;
  if (spec === undefined) {
    throw new Error(`unknown dataset ${JSON.stringify(dataset)}; use one of ${Object.keys(presets).join(', ')}`);
  }
  return spec;
}

/**
 * The dataset list a bundled simulator shows in `simulator --help`: every preset with its counts, e.g.
 * `60 users, 10 groups, 200 memberships (default)`. `counts` gives a preset's counts in the order shown.
 */
export function presetDatasets<Spec>(
  presets: Readonly<Record<string, Spec>>,
  counts: (spec: Spec) => Array<[count: number, what: string]>,
  defaultName = 'small',
): Array<{ name: string; description: string }> {
  return Object.entries(presets).map(([name, spec]) => ({
    name,
    description:
      counts(spec)
        .map(([count, what]) => `${count.toLocaleString('en-US')} ${what}`)
        .join(', ') + (name === defaultName ? ' (default)' : ''),
  }));
}

/**
 * True when a simulator's `dataset` option is ready-made data rather than a preset name or a generator spec: data is
 * an object carrying the list `listKey` (e.g. `users`).
 */
export function isDatasetWith<Data>(dataset: unknown, listKey: keyof Data & string): dataset is Data {
  return (
    typeof dataset === 'object' && dataset !== null && Array.isArray((dataset as Record<string, unknown>)[listKey])
  );
}
