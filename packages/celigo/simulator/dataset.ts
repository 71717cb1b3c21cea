import {
  SeededRandom,
  UniqueEmails,
  randomPersonName,
  resolvePreset,
  presetDatasets,
} from '@baton-ts/shared/simulator';

import { objectId } from './ids.js';
import type { AccessLevel, AshareRecord, IntegrationAccessRecord, IntegrationRecord, PersonRecord } from './model.js';
import type { CeligoData } from './state.js';

export type DatasetName = 'tiny' | 'small' | 'medium' | 'large' | 'bench-small' | 'bench-medium' | 'bench-large';

export interface DatasetSpec {
  /** Account users (shares); the owner comes on top. */
  users: number;
  integrations: number;
  /** Users with each account-wide level; every other user is integration-only. */
  accountWide: Record<AccessLevel, number>;
  /**
   * Per-integration access entries in total (at least one per integration-only user, who would otherwise have no
   * access). Entries of account-wide Monitor users raise them to Manage on that integration.
   */
  integrationGrants: number;
  /** Integration-only users given access to each of the first integrations (after the forced ones): big user lists. */
  largeIntegrationUsers?: number[];
  seed?: string | number;
  /** Domain of the generated e-mail addresses (default `example.com`). */
  emailDomain?: string;
}

/**
 * Presets, identical on every run (seeded). Each has an administrator, a manage user, a monitor user with a manage
 * override, integration-only users, a pending invitation, a disabled user, a declined invitation, a user without a
 * name, SSO-linked users and an integration without a description. `small` has 60 users and an integration with 57
 * users, so both lists need two pages at the simulator's default page size of 50. `large` is the benchmark account:
 * 5,000 users, 500 integrations, about 25,000 integration users.
 */
export const DATASETS: Record<DatasetName, DatasetSpec> = {
  tiny: {
    users: 10,
    integrations: 3,
    accountWide: { administrator: 1, manage: 2, monitor: 3 },
    integrationGrants: 8,
    seed: 'tiny',
  },
  small: {
    users: 60,
    integrations: 8,
    accountWide: { administrator: 2, manage: 4, monitor: 6 },
    integrationGrants: 70,
    largeIntegrationUsers: [45],
    seed: 'small',
  },
  medium: {
    users: 1_000,
    integrations: 100,
    accountWide: { administrator: 3, manage: 7, monitor: 10 },
    integrationGrants: 1_500,
    largeIntegrationUsers: [300, 120],
    seed: 'medium',
  },
  large: {
    users: 5_000,
    integrations: 500,
    accountWide: { administrator: 5, manage: 10, monitor: 25 },
    integrationGrants: 5_000,
    largeIntegrationUsers: [1_200],
    seed: 'large',
  },
  // The benchmark's sizes (bench/run.mjs): about 100 users, 10,000 users, and 100,000 grants.
  'bench-small': {
    users: 100,
    integrations: 10,
    accountWide: { administrator: 2, manage: 5, monitor: 8 },
    integrationGrants: 150,
    largeIntegrationUsers: [60],
    seed: 'bench-small',
  },
  'bench-medium': {
    users: 10_000,
    integrations: 200,
    accountWide: { administrator: 5, manage: 15, monitor: 30 },
    integrationGrants: 15_000,
    largeIntegrationUsers: [2_000, 500],
    seed: 'bench-medium',
  },
  'bench-large': {
    users: 10_000,
    integrations: 1_000,
    accountWide: { administrator: 5, manage: 15, monitor: 30 },
    integrationGrants: 90_000,
    largeIntegrationUsers: [3_000, 1_000],
    seed: 'bench-large',
  },
};

/** The presets as `simulator --help` lists them. */
export const DATASET_LIST = presetDatasets(DATASETS, (spec) => [
  [spec.users, 'users'],
  [spec.integrations, 'integrations'],
  [spec.integrationGrants, 'integration grants'],
]);

// Fixed dates keep the data identical whatever day the tests run.
const EPOCH_SECONDS = Date.parse('2022-03-01T08:00:00.000Z') / 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const APPS = [
  'Salesforce',
  'NetSuite',
  'Shopify',
  'HubSpot',
  'Zendesk',
  'Amazon',
  'Workday',
  'Jira',
  'Snowflake',
  'Stripe',
  'BigCommerce',
  'ServiceNow',
  'Magento',
  'QuickBooks',
  'Slack',
  'Marketo',
];
const TOPICS = ['Orders', 'Customers', 'Invoices', 'Inventory', 'Payments', 'Tickets', 'Employees', 'Products'];

/**
 * The forced coverage of the first users. Users 0-7: administrator (SSO required, linked); manage; monitor with a
 * manage override on integration 1; integration-only (manage on 0, monitor on 1; MFA required); pending monitor
 * invitation; disabled manage user; declined integration-only invitation; a monitor user without a name.
 */
const FORCED_LEVELS: Array<AccessLevel | undefined> = [
  'administrator',
  'manage',
  'monitor',
  undefined,
  'monitor',
  'manage',
  undefined,
  'monitor',
];

function forcedEntries(integrations: IntegrationRecord[]): Map<number, IntegrationAccessRecord[]> {
  const at = (i: number) => integrations[Math.min(i, integrations.length - 1)]!._id;
  const out = new Map<number, IntegrationAccessRecord[]>();
  if (integrations.length === 0) return out;
  out.set(2, [{ _integrationId: at(1), accessLevel: 'manage' }]);
  out.set(3, [
    { _integrationId: at(0), accessLevel: 'manage' },
    ...(integrations.length > 1 ? [{ _integrationId: at(1), accessLevel: 'monitor' as const }] : []),
  ]);
  out.set(6, [{ _integrationId: at(0), accessLevel: 'monitor' }]);
  return out;
}

/** Builds an account from a spec (see DATASETS for what every account covers). */
export function generateDataset(input: DatasetName | DatasetSpec): CeligoData {
  const spec = resolvePreset(DATASETS, input);
  const userCount = Math.max(0, Math.floor(spec.users));
  const integrationCount = Math.max(0, Math.floor(spec.integrations));
  const rng = new SeededRandom(spec.seed ?? `${userCount}/${integrationCount}/${spec.integrationGrants}`);
  const emails = new UniqueEmails(spec.emailDomain ?? 'example.com');

  const ownerName = randomPersonName(rng.fork('owner'));
  const owner: PersonRecord = {
    _id: objectId('person', 0, EPOCH_SECONDS),
    email: emails.next(ownerName),
    name: `${ownerName.firstName} ${ownerName.lastName}`,
    accountSSOLinked: 'not_linked',
  };

  const integrations: IntegrationRecord[] = [];
  for (let i = 0; i < integrationCount; i++) {
    const from = APPS[i % APPS.length]!;
    const to = APPS[(i * 7 + 3) % APPS.length]!;
    const topic = TOPICS[Math.floor(i / APPS.length) % TOPICS.length]!;
    const round = Math.floor(i / (APPS.length * TOPICS.length));
    const name = `${from} to ${to === from ? 'Snowflake' : to} ${topic}${round > 0 ? ` ${round + 1}` : ''}`;
    const created = EPOCH_SECONDS * 1000 - 90 * DAY + i * 6 * HOUR;
    integrations.push({
      _id: objectId('integration', i + 1, EPOCH_SECONDS),
      name,
      // Integration 0 has no description, as some real ones do not.
      ...(i === 0 || rng.chance(0.2) ? {} : { description: `Syncs ${topic.toLowerCase()} from ${from} to ${to}` }),
      sandbox: i > 0 && rng.chance(0.1),
      createdAt: new Date(created).toISOString(),
      lastModified: new Date(created + rng.int(0, 200) * DAY).toISOString(),
      install: [],
      flowGroupings: [],
    });
  }

  // Account-wide levels: the forced users first, the remaining counts on randomly chosen users after them.
  const levels: Array<AccessLevel | undefined> = Array.from({ length: userCount }, (_, i) => FORCED_LEVELS[i]);
  const forced = Math.min(userCount, FORCED_LEVELS.length);
  const wanted: Array<[AccessLevel, number]> = (['administrator', 'manage', 'monitor'] as const).map((level) => [
    level,
    Math.max(0, spec.accountWide[level] - levels.slice(0, forced).filter((l) => l === level).length),
  ]);
  const total = wanted.reduce((n, [, c]) => n + c, 0);
  const free = Math.max(0, userCount - forced);
  const picked = rng.sampleIndexes(free, Math.min(free, total)).map((i) => i + forced);
  rng.shuffle(picked);
  let cursor = 0;
  for (const [level, count] of wanted) {
    for (let k = 0; k < count && cursor < picked.length; k++) levels[picked[cursor++]!] = level;
  }

  // Per-integration entries.
  const entries: IntegrationAccessRecord[][] = Array.from({ length: userCount }, () => []);
  const has = (u: number, integrationId: string) => entries[u]!.some((e) => e._integrationId === integrationId);
  const add = (u: number, integrationId: string, level: 'manage' | 'monitor') => {
    if (!has(u, integrationId)) entries[u]!.push({ _integrationId: integrationId, accessLevel: level });
  };
  for (const [u, list] of forcedEntries(integrations)) {
    if (u < userCount) for (const e of list) add(u, e._integrationId, e.accessLevel);
  }
  const integrationOnly = levels.map((l, i) => (l === undefined ? i : -1)).filter((i) => i >= 0);
  const randomLevel = () => (rng.chance(0.5) ? 'manage' : 'monitor');
  // Skewed towards the first integrations, so user lists have very different lengths.
  const someIntegration = () => integrations[Math.floor(rng.next() ** 2 * integrations.length)]!._id;

  if (integrations.length > 0) {
    (spec.largeIntegrationUsers ?? []).forEach((size, k) => {
      const integration = integrations[Math.min(integrations.length - 1, 2 + k)]!;
      const chosen = rng.sampleIndexes(integrationOnly.length, Math.min(size, integrationOnly.length));
      for (const i of chosen) add(integrationOnly[i]!, integration._id, randomLevel());
    });
    for (const u of integrationOnly) if (entries[u]!.length === 0) add(u, someIntegration(), randomLevel());
    const monitors = levels.map((l, i) => (l === 'monitor' ? i : -1)).filter((i) => i >= 0);
    const pool = [...integrationOnly, ...monitors];
    let count = entries.reduce((n, list) => n + list.length, 0);
    for (
      let attempt = 0;
      count < spec.integrationGrants && pool.length > 0 && attempt < spec.integrationGrants * 4;
      attempt++
    ) {
      const u = rng.pick(pool);
      const integrationId = someIntegration();
      if (has(u, integrationId)) continue;
      add(u, integrationId, levels[u] === 'monitor' ? 'manage' : randomLevel());
      count++;
    }
  }

  const shares: AshareRecord[] = [];
  for (let i = 0; i < userCount; i++) {
    const person = randomPersonName(rng);
    const n = i + 1;
    const created = EPOCH_SECONDS * 1000 + i * HOUR + rng.int(0, HOUR - 1);
    const accepted = i === 4 || i === 6 ? false : !rng.chance(0.03);
    const ssoLinked =
      i === 0
        ? 'this_account'
        : rng.weighted([
            ['not_linked', 85],
            ['this_account', 12],
            ['other_account', 3],
          ] as const);
    const signedIn = accepted ? new Date(created + rng.int(1, 400) * DAY).toISOString() : undefined;
    const level = levels[i];
    shares.push({
      _id: objectId('share', n, EPOCH_SECONDS),
      accepted,
      ...(i === 6 || (!accepted && i >= FORCED_LEVELS.length && rng.chance(0.3)) ? { dismissed: true } : {}),
      disabled: i === 5 || (accepted && i >= FORCED_LEVELS.length && rng.chance(0.04)),
      ...(level ? { accessLevel: level } : {}),
      integrationAccessLevel: entries[i]!,
      accountSSORequired: i === 0 || (ssoLinked === 'this_account' && rng.chance(0.5)),
      accountMFARequired: i === 3 || rng.chance(0.1),
      allowToEditRetryData: i === 3 || (level === 'monitor' && rng.chance(0.2)),
      createdAt: new Date(created).toISOString(),
      lastModified: new Date(created + rng.int(0, 300) * DAY).toISOString(),
      ...(signedIn ? { lastSignIn: signedIn } : {}),
      sharedWithUser: {
        _id: objectId('person', n, EPOCH_SECONDS),
        email: emails.next(person),
        // User 7 has no name: clients must fall back to the email.
        ...(i === 7 ? {} : { name: `${person.firstName} ${person.lastName}` }),
        allowedToResetMFA: rng.chance(0.1),
        accountSSOLinked: ssoLinked,
        ...(signedIn ? { lastSignIn: signedIn } : {}),
      },
    });
  }
  return { owner, shares, integrations };
}
