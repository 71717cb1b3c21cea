import type { RateLimiter, RateLimits } from './rate-limit.js';

/** Changing a running simulator's options; `rateLimits` reach its rate limiter at once. */
export interface RuntimeOptionsControl<T> {
  /** Merges `update` into the options (`rateLimits` class by class). */
  setOptions(update: Partial<T>): void;
  /** A copy of the current options. */
  options(): T;
}

/**
 * The `setOptions`/`options` pair every bundled simulator offers, over a mutable options object that its route
 * handlers read on each request.
 */
export function runtimeOptionsControl<T extends { rateLimits: RateLimits }>(
  runtime: T,
  rateLimiter: RateLimiter,
): RuntimeOptionsControl<T> {
  return {
    setOptions(update) {
      const { rateLimits, ...rest } = update;
      if (rateLimits) {
        runtime.rateLimits = { ...runtime.rateLimits, ...rateLimits };
        rateLimiter.setLimits(runtime.rateLimits);
      }
      Object.assign(runtime, rest);
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
