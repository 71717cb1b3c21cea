import {
  SeededRandom,
  UniqueEmails,
  groupSizes,
  randomPersonName,
  resolvePreset,
  teamName,
  presetDatasets,
} from '@baton-ts/shared/simulator';

import { encodeId } from './ids.js';
import type { GroupRecord, GroupType, UserRecord, UserRole, UserState, UserType } from './model.js';
import type { TwingateData } from './state.js';

export type DatasetName = 'tiny' | 'small' | 'medium' | 'large' | 'bench-small' | 'bench-medium' | 'bench-large';

export interface DatasetSpec {
  /** Number of users. */
  users: number;
  /** Number of groups, including the SYSTEM "Everyone" group (so at least 1). */
  groups: number;
  /** Explicit memberships (the computed "Everyone" group is not counted). */
  memberships: number;
  seed?: string | number;
  /** Exact member counts of the first non-system groups, to guarantee groups that need several pages. */
  largeGroupSizes?: number[];
  /** Domain of the generated e-mail addresses (default `example.com`). */
  emailDomain?: string;
}

/**
 * Presets. Each covers every role, state, user type, group type and an inactive group, and is identical on every
 * run (seeded). `small` has 60 users, so the user list needs two pages at the default page size of 50, and a
 * 55-member group, so `group.users` needs two pages too.
 */
export const DATASETS: Record<DatasetName, DatasetSpec> = {
  tiny: { users: 8, groups: 6, memberships: 12, seed: 'tiny', largeGroupSizes: [5] },
  small: { users: 60, groups: 10, memberships: 200, seed: 'small', largeGroupSizes: [55] },
  medium: { users: 1_000, groups: 100, memberships: 5_000, seed: 'medium', largeGroupSizes: [400, 150, 120] },
  large: {
    users: 10_000,
    groups: 1_000,
    memberships: 50_000,
    seed: 'large',
    largeGroupSizes: [2_500, 1_200, 600, 300, 150, 101],
  },
  // The benchmark's sizes (bench/run.mjs): about 100 users, 10,000 users, and 100,000 grants (memberships, the
  // computed "Everyone" group and one role per user).
  'bench-small': { users: 100, groups: 12, memberships: 300, seed: 'bench-small', largeGroupSizes: [120] },
  'bench-medium': {
    users: 10_000,
    groups: 200,
    memberships: 10_000,
    seed: 'bench-medium',
    largeGroupSizes: [1_500, 400, 150],
  },
  'bench-large': {
    users: 10_000,
    groups: 2_000,
    memberships: 80_000,
    seed: 'bench-large',
    largeGroupSizes: [2_000, 1_000, 400, 150],
  },
};

/** The presets as `simulator --help` lists them. */
export const DATASET_LIST = presetDatasets(DATASETS, (spec) => [
  [spec.users, 'users'],
  [spec.groups, 'groups'],
  [spec.memberships, 'memberships'],
]);

// Fixed dates keep the data identical whatever day the tests run.
const EPOCH = Date.parse('2023-01-02T09:00:00.000Z');
const DAY = 86_400_000;

const FORCED_ROLES: UserRole[] = ['ADMIN', 'DEVOPS', 'SUPPORT', 'ACCESS_REVIEWER', 'MEMBER'];

/**
 * Builds a tenant from a spec. Coverage is forced on the first records so even a tiny tenant has every value:
 * users 1-5 hold the five roles, user 6 is DISABLED, user 7 PENDING, user 8 SYNCED; group 1 is "Everyone"
 * (SYSTEM), group 2 MANUAL, group 3 SYNCED, group 4 an inactive MANUAL group, and the last group is left empty.
 */
export function generateDataset(input: DatasetName | DatasetSpec): TwingateData {
  const spec = resolvePreset(DATASETS, input);
  const userCount = Math.max(0, Math.floor(spec.users));
  const groupCount = Math.max(1, Math.floor(spec.groups));
  const rng = new SeededRandom(spec.seed ?? `${userCount}/${groupCount}/${spec.memberships}`);
  const emails = new UniqueEmails(spec.emailDomain ?? 'example.com');

  const users: UserRecord[] = [];
  for (let i = 0; i < userCount; i++) {
    const name = randomPersonName(rng);
    const role: UserRole =
      i < FORCED_ROLES.length
        ? FORCED_ROLES[i]!
        : rng.weighted<UserRole>([
            ['MEMBER', 85],
            ['ADMIN', 5],
            ['DEVOPS', 4],
            ['SUPPORT', 3],
            ['ACCESS_REVIEWER', 3],
          ]);
    const state: UserState =
      i === 5
        ? 'DISABLED'
        : i === 6
          ? 'PENDING'
          : i < 5
            ? 'ACTIVE'
            : rng.weighted<UserState>([
                ['ACTIVE', 90],
                ['DISABLED', 6],
                ['PENDING', 4],
              ]);
    const type: UserType = i === 7 ? 'SYNCED' : i < 7 ? 'MANUAL' : rng.chance(0.3) ? 'SYNCED' : 'MANUAL';
    const created = EPOCH + i * 3_600_000 + rng.int(0, 3_599_999);
    const updated = created + rng.int(0, 400) * DAY + rng.int(0, DAY - 1);
    users.push({
      n: i + 1,
      id: encodeId('User', i + 1),
      firstName: name.firstName,
      lastName: name.lastName,
      email: emails.next(name),
      role,
      state,
      type,
      createdAt: new Date(created).toISOString(),
      updatedAt: new Date(updated).toISOString(),
    });
  }

  const groups: GroupRecord[] = [];
  for (let i = 0; i < groupCount; i++) {
    const n = i + 1;
    let type: GroupType;
    let isActive = true;
    if (i === 0) type = 'SYSTEM';
    else if (i === 1) type = 'MANUAL';
    else if (i === 2) type = 'SYNCED';
    else if (i === 3) {
      type = 'MANUAL';
      isActive = false;
    } else {
      type = rng.chance(0.3) ? 'SYNCED' : 'MANUAL';
      isActive = !rng.chance(0.05);
    }
    const created = EPOCH - 30 * DAY + i * 7_200_000;
    groups.push({
      n,
      id: encodeId('Group', n),
      name: i === 0 ? 'Everyone' : type === 'SYNCED' ? `${teamName(i - 1)} (IdP)` : teamName(i - 1),
      type,
      isActive,
      createdAt: new Date(created).toISOString(),
      updatedAt: new Date(created + rng.int(0, 300) * DAY).toISOString(),
      everyone: i === 0,
    });
  }

  // Membership sizes: the requested large groups first, the rest spread unevenly over the other groups. The last
  // group stays empty when there are enough groups, so clients meet a group with no members.
  const candidates = groups.slice(1, groupCount >= 5 ? groupCount - 1 : groupCount);
  const sizes = groupSizes(rng, {
    groups: candidates.length,
    users: userCount,
    memberships: spec.memberships,
    fixed: spec.largeGroupSizes,
  });
  const memberships: Array<[string, string]> = [];
  candidates.forEach((group, i) => {
    for (const index of rng.sampleIndexes(userCount, sizes[i]!)) memberships.push([group.id, users[index]!.id]);
  });
  return { users, groups, memberships };
}
