/**
 * Deterministic pseudo-random numbers and fake people for simulators. Same seed, same data, on every machine:
 * tests can assert exact values and a failing run can be reproduced.
 */

/** Hashes a string or number seed into a 32-bit state (FNV-1a followed by an avalanche mix). */
export function hashSeed(seed: string | number): number {
  const text = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: tiny, fast, and good enough for test data and fault dice (not for anything secret). */
export class SeededRandom {
  private state: number;

  constructor(seed: string | number = 1) {
    this.state = hashSeed(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max is below min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p (p <= 0 never, p >= 1 always). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((sum, [, w]) => sum + Math.max(0, w), 0);
    if (total <= 0) throw new RangeError('weighted() needs a positive weight');
    let roll = this.next() * total;
    for (const [value, w] of choices) {
      roll -= Math.max(0, w);
      if (roll < 0) return value;
    }
    return choices[choices.length - 1]![0];
  }

  /** Fisher-Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * k distinct integers from [0, n), in ascending order. Floyd's algorithm: O(k) time and memory, so sampling
   * 50 of 10,000 costs 50 steps, not 10,000.
   */
  sampleIndexes(n: number, k: number): number[] {
    if (k > n) throw new RangeError(`cannot sample ${k} distinct values from ${n}`);
    const chosen = new Set<number>();
    for (let j = n - k; j < n; j++) {
      const t = Math.floor(this.next() * (j + 1));
      chosen.add(chosen.has(t) ? j : t);
    }
    return [...chosen].sort((a, b) => a - b);
  }

  /** A new generator whose sequence depends on this one's seed state and a label, for independent streams. */
  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.state}:${label}`);
  }
}

export const FIRST_NAMES: readonly string[] = [
  'Ada',
  'Alan',
  'Amara',
  'Ana',
  'Arjun',
  'Ava',
  'Ben',
  'Bianca',
  'Carlos',
  'Chen',
  'Chloe',
  'Dana',
  'David',
  'Diego',
  'Elena',
  'Eli',
  'Emma',
  'Farah',
  'Felix',
  'Grace',
  'Hana',
  'Hugo',
  'Ines',
  'Ivan',
  'Jade',
  'James',
  'Jin',
  'Kai',
  'Kara',
  'Leo',
  'Lina',
  'Liam',
  'Maya',
  'Mei',
  'Mateo',
  'Nadia',
  'Noah',
  'Nora',
  'Omar',
  'Olga',
  'Priya',
  'Quinn',
  'Rafael',
  'Rosa',
  'Sam',
  'Sara',
  'Sofia',
  'Tariq',
  'Theo',
  'Uma',
  'Victor',
  'Wen',
  'Yara',
  'Yusuf',
  'Zara',
  'Zoe',
];

export const LAST_NAMES: readonly string[] = [
  'Abbott',
  'Adeyemi',
  'Alvarez',
  'Andersen',
  'Baker',
  'Banerjee',
  'Becker',
  'Brown',
  'Campbell',
  'Chen',
  'Cohen',
  'Costa',
  'Dubois',
  'Duarte',
  'Evans',
  'Fischer',
  'Garcia',
  'Gupta',
  'Hansen',
  'Haddad',
  'Ito',
  'Ivanova',
  'Jensen',
  'Johnson',
  'Kim',
  'Kowalski',
  'Lee',
  'Lopez',
  'Martin',
  'Meyer',
  'Moreau',
  'Nakamura',
  'Nguyen',
  'Novak',
  'Okafor',
  'Olsen',
  'Patel',
  'Petrov',
  'Quinn',
  'Rossi',
  'Santos',
  'Schmidt',
  'Singh',
  'Smith',
  'Sato',
  'Tanaka',
  'Taylor',
  'Torres',
  'Usman',
  'Varga',
  'Wagner',
  'Walsh',
  'Wang',
  'Williams',
  'Xu',
  'Yilmaz',
  'Zhang',
];

export const TEAM_NAMES: readonly string[] = [
  'Engineering',
  'Platform',
  'Security',
  'Sales',
  'Marketing',
  'Finance',
  'Legal',
  'Support',
  'Data',
  'Design',
  'Operations',
  'People',
  'Infrastructure',
  'Mobile',
  'Frontend',
  'Backend',
  'QA',
  'Research',
  'IT',
  'Contractors',
];

export interface PersonName {
  firstName: string;
  lastName: string;
}

export function randomPersonName(rng: SeededRandom): PersonName {
  return { firstName: rng.pick(FIRST_NAMES), lastName: rng.pick(LAST_NAMES) };
}

/** `first.last@domain`, lower-cased, with only [a-z0-9.] in the local part. */
export function emailFor(name: PersonName, domain: string, suffix?: string | number): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const local = `${clean(name.firstName)}.${clean(name.lastName)}${suffix === undefined ? '' : `.${suffix}`}`;
  return `${local}@${domain}`;
}

/**
 * Hands out unique e-mail addresses: the first `ada.lopez@` keeps the plain form, later ones get `.2`, `.3`...
 * so a 10,000-user data set has no duplicates even though names repeat.
 */
export class UniqueEmails {
  private readonly seen = new Map<string, number>();

  constructor(private readonly domain: string) {}

  next(name: PersonName): string {
    const base = emailFor(name, this.domain);
    const count = (this.seen.get(base) ?? 0) + 1;
    this.seen.set(base, count);
    return count === 1 ? base : emailFor(name, this.domain, count);
  }
}

/** `n` distinct, human-looking team names: "Engineering", ..., then "Engineering 2", ... */
export function teamName(index: number): string {
  const base = TEAM_NAMES[index % TEAM_NAMES.length]!;
  const round = Math.floor(index / TEAM_NAMES.length);
  return round === 0 ? base : `${base} ${round + 1}`;
}

export interface GroupSizeOptions {
  /** Number of groups to size. */
  groups: number;
  /** Users to draw members from: no group gets more. */
  users: number;
  /** Memberships to hand out in total (fewer when the groups cannot hold them). */
  memberships: number;
  /** Exact sizes of the first groups (e.g. groups large enough to need several pages). */
  fixed?: readonly number[];
}

/**
 * Member counts for seeded test tenants: the first groups get the `fixed` sizes, the others an uneven share (weights
 * drawn from `rng`, squared so a few groups are large and many small), and what rounding leaves over is handed out
 * one member at a time to groups that still have room.
 */
export function groupSizes(rng: SeededRandom, options: GroupSizeOptions): number[] {
  const users = Math.max(0, Math.floor(options.users));
  const sizes = new Array<number>(Math.max(0, options.groups)).fill(0);
  let remaining = Math.max(0, Math.floor(options.memberships));
  const fixed = options.fixed ?? [];
  for (let i = 0; i < sizes.length && i < fixed.length; i++) {
    sizes[i] = Math.min(fixed[i]!, users, remaining);
    remaining -= sizes[i]!;
  }
  const first = Math.min(fixed.length, sizes.length);
  const rest = sizes.length - first;
  if (rest === 0 || remaining <= 0) return sizes;
  const weights = Array.from({ length: rest }, () => rng.next() ** 2 + 0.05);
  const total = weights.reduce((a, b) => a + b, 0);
  let assigned = 0;
  for (let i = 0; i < rest; i++) {
    sizes[first + i] = Math.min(users, Math.floor((remaining * weights[i]!) / total));
    assigned += sizes[first + i]!;
  }
  for (let leftover = remaining - assigned, i = 0; leftover > 0 && i < rest * (users + 1); i++) {
    const at = first + (i % rest);
    if (sizes[at]! < users) {
      sizes[at]!++;
      leftover--;
    }
  }
  return sizes;
}
