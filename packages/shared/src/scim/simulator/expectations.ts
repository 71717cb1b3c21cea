/**
 * What a complete sync of a simulator's data must contain, in the ids SCIM connectors emit (`user:<id>`,
 * `group:<id>`, entitlement `group:<id>:member`, grant `group:<id>:member:user:<userId>`), and the fewest requests
 * such a sync can make. Connector tests and benchmarks compare against these.
 */
import { UserTraitSchema, UserTrait_Status_Status } from '../../gen/c1/connector/v2/annotation_trait_pb.js';
import { findAnnotation } from '../../sdk/annotations.js';
import type { Resource } from '../../sdk/resources.js';
import type { ScimQuirks } from './quirks.js';
import type { ScimState } from './state.js';

export interface ExpectedScimSync {
  userIds: string[];
  groupIds: string[];
  entitlementIds: string[];
  /** Sorted. Nested group members are not grants (only users hold membership). */
  grantIds: string[];
}

export function expectedScimSync(
  state: ScimState,
  quirks: Pick<ScimQuirks, 'groupsEndpoint' | 'membersOnGroupGet' | 'usersCarryGroups'>,
): ExpectedScimSync {
  const userIds = state.listUsers().map((u) => u.id);
  if (quirks.groupsEndpoint !== 'ok') return { userIds, groupIds: [], entitlementIds: [], grantIds: [] };
  const groups = state.listGroups();
  // A server that reports memberships neither on groups nor on users has none to sync.
  const visible = quirks.membersOnGroupGet === 'full' || quirks.usersCarryGroups;
  return {
    userIds,
    groupIds: groups.map((g) => g.id),
    entitlementIds: groups.map((g) => `group:${g.id}:member`),
    grantIds: visible
      ? groups.flatMap((g) => state.groupMembers(g.id).map((u) => `group:${g.id}:member:user:${u.id}`)).sort()
      : [],
  };
}

/**
 * The floor: one request to validate, then every page of users and of groups at the server's page size (one page
 * each when the server ignores `count`). Memberships need no request of their own when they come with the listing.
 */
export function scimSyncFloor(
  state: ScimState,
  quirks: Pick<ScimQuirks, 'maxPageSize' | 'ignoreCount' | 'groupsEndpoint'>,
  requestedCount = 100,
): number {
  const perPage = quirks.ignoreCount ? Infinity : Math.min(requestedCount, quirks.maxPageSize);
  const pages = (n: number) => Math.max(1, Math.ceil(n / perPage));
  return 1 + pages(state.listUsers().length) + (quirks.groupsEndpoint === 'ok' ? pages(state.listGroups().length) : 1);
}

/** The parts of a finished sync a comparison needs (what `syncInProcess` returns, or rows read from a c1z). */
export interface SyncedScimData {
  resources: Resource[];
  entitlements: Array<{ id: string }>;
  grants: Array<{ id: string }>;
}

/**
 * Differences between a sync and the simulator's data (empty when the sync is complete and exact): users, groups,
 * entitlements and grants by id, and every inactive user (and only those) disabled, whatever form `active` took.
 * With `requests` (the API requests the sync made), also a sync that needed more than the floor, plus the two GETs
 * that may show a server leaves members out.
 */
export function scimSyncMismatches(
  sim: { state: ScimState; quirks(): ScimQuirks },
  synced: SyncedScimData,
  requests?: number,
): string[] {
  const { state } = sim;
  const quirks = sim.quirks();
  const expected = expectedScimSync(state, quirks);
  const out: string[] = [];
  const compare = (what: string, got: string[], want: string[]) => {
    const wanted = new Set(want);
    const have = new Set(got);
    const missing = want.filter((id) => !have.has(id));
    const extra = got.filter((id) => !wanted.has(id));
    if (missing.length) out.push(`${what}: ${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ')}`);
    if (extra.length) out.push(`${what}: ${extra.length} unexpected, e.g. ${extra.slice(0, 3).join(', ')}`);
    if (have.size !== got.length) out.push(`${what}: ${got.length - have.size} duplicates`);
  };
  const ofType = (type: string) => synced.resources.filter((r) => r.id?.resourceType === type);
  compare(
    'users',
    ofType('user').map((r) => r.id!.resource),
    expected.userIds,
  );
  compare(
    'groups',
    ofType('group').map((r) => r.id!.resource),
    expected.groupIds,
  );
  compare(
    'entitlements',
    synced.entitlements.map((e) => e.id),
    expected.entitlementIds,
  );
  compare(
    'grants',
    synced.grants.map((g) => g.id),
    expected.grantIds,
  );
  const disabled = ofType('user')
    .filter((r) => findAnnotation(r.annotations, UserTraitSchema)?.status?.status === UserTrait_Status_Status.DISABLED)
    .map((r) => r.id!.resource);
  compare(
    'disabled users',
    disabled,
    state
      .listUsers()
      .filter((u) => !u.active)
      .map((u) => u.id),
  );
  if (requests !== undefined) {
    const floor = scimSyncFloor(state, quirks);
    const most = floor + (quirks.membersOnGroupGet === 'omit' ? 2 : 0);
    if (requests < floor || requests > most) out.push(`requests: ${requests}, expected ${floor}..${most}`);
  }
  return out;
}
