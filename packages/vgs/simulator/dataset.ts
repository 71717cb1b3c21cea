import {
  SeededRandom,
  UniqueEmails,
  randomPersonName,
  resolvePreset,
  teamName,
  presetDatasets,
} from '@baton-ts/shared/simulator';

import { clientIdFor, inviteId, organizationId, secret, userId, uuid, vaultIdentifier } from './ids.js';
import type {
  MemberRecord,
  OrganizationRecord,
  OrgRole,
  ServiceAccountRecord,
  VaultRecord,
  VaultRole,
  VgsData,
} from './model.js';

export type DatasetName = 'tiny' | 'small' | 'medium' | 'large' | 'bench-small' | 'bench-medium' | 'bench-large';

export interface DatasetSpec {
  /** People in the configured organization. */
  members: number;
  /** Vaults of the configured organization. */
  vaults: number;
  /** People's vault memberships in the configured organization (service accounts come on top). */
  vaultMemberships: number;
  /** Invitations of the configured organization, about a fifth of them expired. */
  invites: number;
  /** Service accounts of the configured organization, the connector's own included (at least 1). */
  serviceAccounts: number;
  /** Vaults of each of the two other organizations (default 2). */
  otherOrgVaults?: number;
  seed?: string | number;
}

/**
 * Presets. Each covers every organization role, every vault role, a vault with no members, a member without a name,
 * service accounts in vaults (and one in none), pending, expired and stale invitations, and two more organizations
 * with their own vaults (one the token can see, one it cannot). `large` is the benchmark's: 5,000 members, 200
 * vaults, 20,000 vault memberships, 500 invitations.
 */
export const DATASETS: Record<DatasetName, DatasetSpec> = {
  tiny: { members: 6, vaults: 3, vaultMemberships: 8, invites: 4, serviceAccounts: 2, seed: 'tiny' },
  small: { members: 40, vaults: 8, vaultMemberships: 80, invites: 12, serviceAccounts: 4, seed: 'small' },
  medium: { members: 1_000, vaults: 60, vaultMemberships: 3_000, invites: 100, serviceAccounts: 10, seed: 'medium' },
  large: { members: 5_000, vaults: 200, vaultMemberships: 20_000, invites: 500, serviceAccounts: 20, seed: 'large' },
  // The benchmark's sizes (bench/run.mjs): about 100 users, 10,000 users, and 100,000 grants (organization roles,
  // vault memberships, invitations).
  'bench-small': {
    members: 100,
    vaults: 10,
    vaultMemberships: 200,
    invites: 20,
    serviceAccounts: 4,
    seed: 'bench-small',
  },
  'bench-medium': {
    members: 10_000,
    vaults: 100,
    vaultMemberships: 10_000,
    invites: 300,
    serviceAccounts: 10,
    seed: 'bench-medium',
  },
  'bench-large': {
    members: 10_000,
    vaults: 300,
    vaultMemberships: 90_000,
    invites: 300,
    serviceAccounts: 20,
    seed: 'bench-large',
  },
};

/** The presets as `simulator --help` lists them. */
export const DATASET_LIST = presetDatasets(DATASETS, (spec) => [
  [spec.members, 'members'],
  [spec.vaults, 'vaults'],
  [spec.vaultMemberships, 'vault memberships'],
  [spec.invites, 'invitations'],
]);

/** The configured organization of every dataset (the `organization-id` the simulator hands out). */
export const PRIMARY_ORGANIZATION_ID = 'ACsimQN3Lv875yyqZiLQ2s7V';
/** The connector's own service account in every dataset. */
export const DEFAULT_CLIENT_ID = 'c1integration-Sim8Hq2k';
export const DEFAULT_CLIENT_SECRET = 'vgs-sim-secret-6f1c3b9e2d7a4058b1e9c0d2';
/** The scopes the setup guide asks for: sync, plus organization-users:write to provision. */
export const DEFAULT_SCOPES = [
  'organizations:read',
  'vaults:read',
  'organization-users:read',
  'organization-users:write',
];

const DAY = 86_400_000;
const HOUR = 3_600_000;
// Fixed dates keep members and vaults identical whatever day the tests run; invitations are relative to `now`
// because their expiry is.
const EPOCH = Date.parse('2023-03-01T09:00:00.000Z');

/** `2024-03-14T21:36:14`: how VGS writes organization and vault times (UTC, no zone). */
const vgsTime = (ms: number) => new Date(ms).toISOString().slice(0, 19);
/** Members carry milliseconds and a zone. */
const isoTime = (ms: number) => new Date(ms).toISOString();

const SERVICE_ACCOUNT_NAMES = ['ci-deploy', 'terraform', 'monitoring', 'backup-job', 'etl-pipeline', 'support-tool'];
const ENVIRONMENTS = ['SANDBOX', 'LIVE', 'SANDBOX', 'LIVE-EU-1'];

/**
 * Builds three organizations from a spec. Coverage is forced on the first records: member 1 is an admin, member 2
 * has no name, member 3 a three-word name; vault 1 has a read, a write and an admin member; the last vault has no
 * members at all; the connector's own service account is in every other vault; invitation 1 is pending with vault
 * access, 2 expired, 3 stale (VGS still says PENDING, but it is past its 7 days), 4 pending for an admin.
 */
export function generateDataset(input: DatasetName | DatasetSpec, now: number = Date.now()): VgsData {
  const spec = resolvePreset(DATASETS, input);
  const rng = new SeededRandom(spec.seed ?? `${spec.members}/${spec.vaults}/${spec.vaultMemberships}`);
  const emails = new UniqueEmails('example.com');
  const otherVaults = Math.max(0, Math.floor(spec.otherOrgVaults ?? 2));

  const org = (id: string, name: string, i: number): OrganizationRecord => ({
    id,
    internalId: uuid(rng),
    name,
    state: 'ACTIVE',
    createdAt: vgsTime(EPOCH - (300 - i) * DAY),
    updatedAt: vgsTime(EPOCH - (100 - i) * DAY),
  });
  const primary = org(PRIMARY_ORGANIZATION_ID, 'Acme Payments', 0);
  const sandbox = org(organizationId(rng), 'Acme Sandbox', 1);
  const hidden = org(organizationId(rng), 'Globex (another customer)', 2);

  const data: VgsData = {
    organizations: [primary, sandbox, hidden],
    members: [],
    serviceAccounts: [],
    invites: [],
    vaults: [],
    vaultMembers: [],
  };

  const addMembers = (orgId: string, count: number): MemberRecord[] => {
    const list: MemberRecord[] = [];
    for (let i = 0; i < count; i++) {
      const person = randomPersonName(rng);
      const created = EPOCH + i * HOUR + rng.int(0, HOUR - 1);
      const name =
        orgId === primary.id && i === 1
          ? ''
          : orgId === primary.id && i === 2
            ? `${person.firstName} de ${person.lastName}`
            : `${person.firstName} ${person.lastName}`;
      const role: OrgRole = i === 0 ? 'admin' : rng.chance(0.1) ? 'admin' : 'user';
      list.push({
        id: userId(rng),
        orgId,
        name,
        email: emails.next(person),
        role,
        createdAt: isoTime(created),
        updatedAt: isoTime(created + rng.int(0, 200) * DAY),
        lastLogin: rng.chance(0.8) ? isoTime(EPOCH + 400 * DAY + rng.int(0, 90) * DAY) : undefined,
        ssoId: rng.chance(0.3) ? `SSO${rng.int(10_000, 99_999)}` : undefined,
      });
    }
    data.members.push(...list);
    return list;
  };

  const addVaults = (orgId: string, count: number, offset: number): VaultRecord[] => {
    const list: VaultRecord[] = [];
    for (let i = 0; i < count; i++) {
      const environment = ENVIRONMENTS[(i + offset) % ENVIRONMENTS.length]!;
      const created = EPOCH - 60 * DAY + (i + offset) * 6 * HOUR;
      list.push({
        id: uuid(rng),
        identifier: vaultIdentifier(rng),
        orgId,
        name: `${teamName(i + offset)} ${environment === 'SANDBOX' ? 'Sandbox' : 'Live'}`,
        environment,
        createdAt: vgsTime(created),
        updatedAt: vgsTime(created + rng.int(0, 100) * DAY),
      });
    }
    data.vaults.push(...list);
    return list;
  };

  const addInvites = (orgId: string, count: number, invitedBy: string, vaults: VaultRecord[]): void => {
    for (let i = 0; i < count; i++) {
      const person = randomPersonName(rng);
      // Spread over the last nine days: about two in nine are past their seven days.
      let created = now - rng.int(1, 9 * 24) * HOUR;
      let statusOverride: string | undefined;
      if (orgId === primary.id && i === 0) created = now - 26 * HOUR;
      if (orgId === primary.id && i === 1) created = now - 10 * DAY;
      if (orgId === primary.id && i === 2) {
        created = now - 9 * DAY;
        statusOverride = 'PENDING';
      }
      if (orgId === primary.id && i === 3) created = now - 3 * DAY;
      const withVault = vaults.length > 0 && (i === 0 || rng.chance(0.3));
      data.invites.push({
        inviteId: inviteId(rng),
        id: uuid(rng),
        orgId,
        email: emails.next(person),
        invitedBy,
        role: i === 3 || rng.chance(0.1) ? 'admin' : 'user',
        createdAt: isoTime(created),
        statusOverride,
        vaults: withVault ? [{ id: vaults[rng.int(0, vaults.length - 1)]!.identifier, role: 'read' }] : [],
      });
    }
  };

  // -- the configured organization ----------------------------------------------------------------------------
  const people = addMembers(primary.id, Math.max(1, Math.floor(spec.members)));
  const vaults = addVaults(primary.id, Math.max(0, Math.floor(spec.vaults)), 0);
  const accounts: ServiceAccountRecord[] = [];
  const saCount = Math.max(1, Math.floor(spec.serviceAccounts));
  for (let i = 0; i < saCount; i++) {
    const name = i === 0 ? 'c1integration' : SERVICE_ACCOUNT_NAMES[(i - 1) % SERVICE_ACCOUNT_NAMES.length]!;
    const round = Math.floor((i - 1) / SERVICE_ACCOUNT_NAMES.length);
    const label = i > 0 && round > 0 ? `${name}-${round + 1}` : name;
    accounts.push({
      clientId: i === 0 ? DEFAULT_CLIENT_ID : clientIdFor(rng, label),
      clientSecret: i === 0 ? DEFAULT_CLIENT_SECRET : secret(rng),
      orgId: primary.id,
      extraOrgIds: i === 0 ? [sandbox.id] : [],
      name: label,
      memberId: userId(rng),
      scopes: i === 0 ? [...DEFAULT_SCOPES] : ['vaults:read', 'routes:write'],
      createdAt: isoTime(EPOCH + i * DAY),
    });
  }
  data.serviceAccounts.push(...accounts);

  // People in vaults: vault 1 gets one member of each role, the last vault stays empty (with 3+ vaults), the rest
  // is spread unevenly (popular vaults first), each (vault, person) pair at most once.
  const filled = vaults.length >= 3 ? vaults.slice(0, -1) : vaults;
  const pairs = new Set<string>();
  const add = (vault: VaultRecord, memberId: string, role: VaultRole) => {
    const key = `${vault.identifier}\u0000${memberId}`;
    if (pairs.has(key)) return false;
    pairs.add(key);
    data.vaultMembers.push([vault.identifier, memberId, role]);
    return true;
  };
  const target = Math.min(Math.max(0, Math.floor(spec.vaultMemberships)), filled.length * people.length);
  let placed = 0;
  if (filled.length > 0) {
    (['read', 'write', 'admin'] as const).forEach((role, i) => {
      if (placed < target && i < people.length && add(filled[0]!, people[i]!.id, role)) placed++;
    });
  }
  for (let attempts = 0; placed < target && attempts < target * 20; attempts++) {
    const vault = filled[Math.floor(rng.next() ** 2 * filled.length)]!;
    const person = people[rng.int(0, people.length - 1)]!;
    const role = rng.weighted<VaultRole>([
      ['read', 50],
      ['write', 35],
      ['admin', 15],
    ]);
    if (add(vault, person.id, role)) placed++;
  }
  // Service accounts: the connector's own in every filled vault ("Select all vaults"), the others in a few, and
  // the last one (with 2+ accounts) in none.
  for (const vault of filled) add(vault, accounts[0]!.memberId, 'write');
  accounts.slice(1, accounts.length >= 2 ? -1 : undefined).forEach((sa) => {
    for (let k = rng.int(1, 3); k > 0 && filled.length > 0; k--) {
      add(filled[rng.int(0, filled.length - 1)]!, sa.memberId, rng.pick<VaultRole>(['read', 'write', 'admin']));
    }
  });
  addInvites(primary.id, Math.max(0, Math.floor(spec.invites)), people[0]!.email, vaults);

  // -- the other organizations: one the connector's token also sees, one it does not ----------------------------
  for (const other of [sandbox, hidden]) {
    const otherPeople = addMembers(other.id, 3);
    const otherVaultList = addVaults(other.id, otherVaults, 7);
    otherVaultList.forEach((vault, i) => {
      add(vault, otherPeople[i % otherPeople.length]!.id, 'admin');
      if (other === sandbox) add(vault, accounts[0]!.memberId, 'read');
    });
    addInvites(other.id, 2, otherPeople[0]!.email, otherVaultList);
  }
  return data;
}
