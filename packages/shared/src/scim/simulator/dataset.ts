/**
 * Seeded SCIM tenants of any size. Every preset covers what a client must handle: an inactive user, a user with no
 * name (only a userName), a user whose primary email is not the first, users without externalId, a group with a
 * nested group among its members, and an empty group. Identical on every run.
 */
import { SeededRandom, UniqueEmails, groupSizes, randomPersonName, teamName } from '../../simulator/random.js';
import { resolvePreset } from '../../simulator/runtime-options.js';
import type { ScimData, StoredGroup, StoredMember, StoredUser } from './state.js';

export type ScimDatasetName = 'tiny' | 'small' | 'medium' | 'large' | 'bench-small' | 'bench-medium' | 'bench-large';

export interface ScimDatasetSpec {
  users: number;
  groups: number;
  /** User memberships over all groups (the nested group member is extra). */
  memberships: number;
  seed?: string | number;
  /** Exact sizes of the first groups (the rest is spread unevenly over the others). */
  largeGroupSizes?: number[];
  emailDomain?: string;
}

/** `small` (the demo) needs three user pages of 100 and has a group of 230 members. */
export const SCIM_DATASETS: Record<ScimDatasetName, ScimDatasetSpec> = {
  tiny: { users: 8, groups: 5, memberships: 12, seed: 'scim-tiny', largeGroupSizes: [5] },
  small: { users: 250, groups: 12, memberships: 700, seed: 'scim-small', largeGroupSizes: [230] },
  medium: { users: 1_000, groups: 60, memberships: 5_000, seed: 'scim-medium', largeGroupSizes: [600, 250] },
  large: {
    users: 10_000,
    groups: 500,
    memberships: 50_000,
    seed: 'scim-large',
    largeGroupSizes: [4_000, 1_500, 800, 300],
  },
  // The benchmark's sizes (bench/run.mjs): about 100 users, 10,000 users, and 100,000 grants (memberships).
  'bench-small': { users: 100, groups: 10, memberships: 300, seed: 'scim-bench-small', largeGroupSizes: [120] },
  'bench-medium': {
    users: 10_000,
    groups: 200,
    memberships: 20_000,
    seed: 'scim-bench-medium',
    largeGroupSizes: [2_000, 500],
  },
  'bench-large': {
    users: 10_000,
    groups: 1_000,
    memberships: 100_000,
    seed: 'scim-bench-large',
    largeGroupSizes: [4_000, 1_500, 800, 300],
  },
};

export function resolveScimDataset(dataset: ScimDatasetName | ScimDatasetSpec): ScimDatasetSpec {
  return resolvePreset(SCIM_DATASETS, dataset);
}

const EPOCH = Date.parse('2024-01-08T09:00:00.000Z');
const HOUR = 3_600_000;

function uuid(rng: SeededRandom): string {
  const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16));
  hex[12] = '4';
  hex[16] = ((rng.int(0, 15) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export function generateScimDataset(input: ScimDatasetName | ScimDatasetSpec): ScimData {
  const spec = resolveScimDataset(input);
  const userCount = Math.max(0, Math.floor(spec.users));
  const groupCount = Math.max(0, Math.floor(spec.groups));
  const rng = new SeededRandom(spec.seed ?? `${userCount}/${groupCount}/${spec.memberships}`);
  const emails = new UniqueEmails(spec.emailDomain ?? 'example.com');
  const ids = new Set<string>();
  const freshId = () => {
    for (;;) {
      const id = uuid(rng);
      if (ids.has(id)) continue;
      ids.add(id);
      return id;
    }
  };

  const users: StoredUser[] = [];
  for (let i = 0; i < userCount; i++) {
    const person = randomPersonName(rng);
    const email = emails.next(person);
    const created = new Date(EPOCH + i * HOUR + rng.int(0, HOUR - 1)).toISOString();
    const user: StoredUser = {
      id: freshId(),
      userName: email,
      active: i === 1 ? false : i < 4 ? true : !rng.chance(0.05),
      extra: {},
      meta: { created, lastModified: created, version: 1 },
    };
    // User 3 has only a userName: clients must still find a display name and an email.
    if (i !== 2) {
      user.name = {
        givenName: person.firstName,
        familyName: person.lastName,
        formatted: `${person.firstName} ${person.lastName}`,
      };
      user.displayName = `${person.firstName} ${person.lastName}`;
      user.emails = [{ value: email, type: 'work', primary: true }];
    }
    // User 4 lists a personal address first and marks the work address primary.
    if (i === 3) {
      user.emails = [
        { value: `${email.split('@')[0]}@personal.example.net`, type: 'home', primary: false },
        { value: email, type: 'work', primary: true },
      ];
    }
    if (i === 0 || (i > 3 && rng.chance(0.7))) user.externalId = `ext-${(i + 1).toString().padStart(6, '0')}`;
    users.push(user);
  }

  const groups: StoredGroup[] = [];
  for (let i = 0; i < groupCount; i++) {
    const created = new Date(EPOCH - 30 * 24 * HOUR + i * HOUR).toISOString();
    groups.push({
      id: freshId(),
      displayName: teamName(i),
      externalId: rng.chance(0.5) ? `grp-${i + 1}` : undefined,
      members: [],
      meta: { created, lastModified: created, version: 1 },
    });
  }

  // The last group stays empty (when there are at least three); sizes go to the others.
  const candidates = groupCount >= 3 ? groups.slice(0, groupCount - 1) : groups;
  const sizes = groupSizes(rng, {
    groups: candidates.length,
    users: userCount,
    memberships: spec.memberships,
    fixed: spec.largeGroupSizes,
  });
  candidates.forEach((group, i) => {
    group.members = rng
      .sampleIndexes(userCount, sizes[i]!)
      .map((index): StoredMember => ({ value: users[index]!.id, type: 'User' }));
  });
  // A nested group: the second group holds the third as a member.
  if (groupCount >= 4) groups[1]!.members.push({ value: groups[2]!.id, type: 'Group' });
  return { users, groups };
}
