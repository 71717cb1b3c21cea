/**
 * A small, deterministic connector used by the SDK, server, host and CLI tests and by the benchmarks.
 * It models: users (TRAIT_USER), groups (TRAIT_GROUP) with a `member` entitlement and provisioning, a child-only
 * `project` type under each group whose `viewer` entitlement is granted to the group's members through an
 * expandable grant, and account creation. Users are computed from their index, so a million of them cost no memory.
 *
 * The hidden `--break` flag turns on deliberate bugs, one per conformance rule that must be able to fail
 * (docs/testing.md lists them); `baton-conform`'s tests run one variant each.
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import {
  defineConnector,
  entitlement,
  grant,
  groupResource,
  pageOfArray,
  resource,
  resourceId,
  resourceType,
  userResource,
  type Connector,
  type ResourceSyncer,
} from '../index.js';
import { failedPrecondition, invalidArgument, notFound, unauthenticated, unavailable } from '../sdk/errors.js';

const config = z.object({
  users: z.coerce.number().int().min(0).default(12).describe('Number of users'),
  groups: z.coerce.number().int().min(0).default(3).describe('Number of groups'),
  profileBytes: z.coerce.number().int().min(0).default(0).describe('Extra profile bytes per user'),
  apiToken: z.string().default('fixture-token').describe('Token the fake API expects').meta({ secret: true }),
  failValidate: z
    .enum(['', 'unauthenticated', 'unavailable'])
    .default('')
    .describe('Make Validate fail')
    .meta({ hidden: true }),
  throwInList: z.coerce
    .boolean()
    .default(false)
    .describe('Throw an unexpected error in ListResources')
    .meta({ hidden: true }),
  break: z
    .string()
    .default('')
    .describe('Deliberate bugs for conformance tests, comma-separated (docs/testing.md)')
    .meta({ hidden: true }),
});

export type FixtureConfig = z.output<typeof config>;

/** Deliberate bugs of `--break`, each caught by one conformance check (docs/testing.md). */
const FIXTURE_BREAKS = [
  // walk
  'page-token-cycle', // the third page of users returns the token of the second page again
  'dangling-principal', // group g0 has a member that is not a listed user
  'oversized-page', // ListResources(user) returns one user more than the page size asked for
  'duplicate-grant', // a page of grants with room left repeats its first grant
  'missing-trait', // user u3 lacks its UserTrait
  // stability
  'unstable', // every second top-level listing of users leaves out u1
  // validation
  'crash-on-bad-input', // entitlements or grants of a group that does not exist crash the process
  // lifecycle
  'slow-exit', // exiting takes 1.5 s (a synchronous shutdown hook)
  'orphan', // starts a helper process that outlives the connector
  'slow-answer', // Validate answers after 1.2 s
  // provisioning
  'grant-not-idempotent', // granting an existing membership fails instead of answering GrantAlreadyExists
] as const;

type FixtureBreak = (typeof FIXTURE_BREAKS)[number];

function parseBreaks(value: string): Set<FixtureBreak> {
  const out = new Set<FixtureBreak>();
  for (const name of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(FIXTURE_BREAKS as readonly string[]).includes(name)) {
      throw invalidArgument(`unknown --break ${JSON.stringify(name)} (known: ${FIXTURE_BREAKS.join(', ')})`);
    }
    out.add(name as FixtureBreak);
  }
  return out;
}

/** Process-wide bugs (exit and helper processes): installed once, when a connector is built. */
let processBreaksInstalled = false;
function installProcessBreaks(breaks: Set<FixtureBreak>): void {
  if (processBreaksInstalled) return;
  processBreaksInstalled = true;
  if (breaks.has('slow-exit')) {
    process.on('exit', () => {
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        // a synchronous shutdown hook that takes its time
      }
    });
  }
  if (breaks.has('orphan')) {
    spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }).unref();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const userType = resourceType({ id: 'user', displayName: 'User', traits: ['user'], skipEntitlementsAndGrants: true });
const groupType = resourceType({
  id: 'group',
  displayName: 'Group',
  traits: ['group'],
  description: 'A fixture group',
});
const projectType = resourceType({ id: 'project', displayName: 'Project', description: 'Child of a group' });

const userIdOf = (i: number) => `u${i}`;
const groupIdOf = (i: number) => `g${i}`;

/** Everything the fake application holds; membership changes are visible to later syncs in the same process. */
class FixtureState {
  readonly members = new Map<string, Set<string>>();
  readonly deletedUsers = new Set<string>();
  readonly createdUsers: string[] = [];
  mutations = 0;

  constructor(readonly cfg: FixtureConfig) {
    // Group i holds every user whose index is divisible by (i + 1): g0 has everyone, g1 half, ...
    for (let g = 0; g < cfg.groups; g++) {
      const set = new Set<string>();
      for (let u = 0; u < Math.min(cfg.users, 10_000); u++) if (u % (g + 1) === 0) set.add(userIdOf(u));
      this.members.set(groupIdOf(g), set);
    }
  }

  userExists(id: string): boolean {
    if (this.deletedUsers.has(id)) return false;
    if (this.createdUsers.includes(id)) return true;
    const m = /^u(\d+)$/.exec(id);
    return !!m && Number(m[1]) < this.cfg.users;
  }
}

function buildUser(state: FixtureState, index: number) {
  const id = userIdOf(index);
  return userResource({
    type: userType,
    id,
    displayName: `User ${index}`,
    emails: [`user${index}@example.com`],
    login: `user${index}`,
    status: index % 7 === 3 ? 'disabled' : 'enabled',
    profile: { index, padding: state.cfg.profileBytes ? 'x'.repeat(state.cfg.profileBytes) : undefined },
  });
}

/** A user resource without its UserTrait (`--break missing-trait`). */
function userWithoutTrait(index: number) {
  return resource({ type: userType, id: userIdOf(index), displayName: `User ${index}` });
}

function buildGroup(index: number) {
  return groupResource({
    type: groupType,
    id: groupIdOf(index),
    displayName: `Group ${index}`,
    childTypes: ['project'],
    profile: { index },
  });
}

export function createFixtureConnector(cfg: FixtureConfig): Connector & { state: FixtureState } {
  const state = new FixtureState(cfg);
  const breaks = parseBreaks(cfg.break);
  installProcessBreaks(breaks);
  let userListings = 0;
  /** `crash-on-bad-input`: kill the process, as an unhandled exception in a callback would. */
  const crash = (what: string) => {
    setImmediate(() => {
      throw new Error(`fixture: crashed on ${what}`);
    });
    return new Promise<never>(() => {});
  };
  const memberEntitlement = (group: ReturnType<typeof buildGroup>) =>
    entitlement(group, 'member', { displayName: `${group.displayName} Member`, grantableTo: [userType] });

  const users: ResourceSyncer = {
    resourceType: userType,
    defaultPageSize: 100,
    async list(_parent, page) {
      if (cfg.throwInList) throw new Error(`database password=${cfg.apiToken} exploded`);
      const start = (page.state as number | undefined) ?? 0;
      if (start === 0) userListings++;
      const size = breaks.has('oversized-page') ? page.size + 1 : page.size;
      const items = [];
      let i = start;
      for (; i < cfg.users && items.length < size; i++) {
        if (state.deletedUsers.has(userIdOf(i))) continue;
        if (breaks.has('unstable') && i === 1 && userListings % 2 === 0) continue;
        items.push(breaks.has('missing-trait') && i === 3 ? userWithoutTrait(i) : buildUser(state, i));
      }
      const created = i >= cfg.users && start <= cfg.users ? state.createdUsers.map((id) => buildCreated(id)) : [];
      let next = i < cfg.users ? i : undefined;
      if (breaks.has('page-token-cycle') && start === 2 * page.size) next = page.size;
      return { items: [...items, ...created], next };
    },
    async entitlements() {
      return { items: [] };
    },
    async grants() {
      return { items: [] };
    },
    async get(id) {
      const m = /^u(\d+)$/.exec(id.resource);
      return m && state.userExists(id.resource) ? buildUser(state, Number(m[1])) : undefined;
    },
    async delete(id) {
      if (!state.userExists(id.resource)) return { alreadyDeleted: true };
      state.deletedUsers.add(id.resource);
      for (const set of state.members.values()) set.delete(id.resource);
      state.mutations++;
      return {};
    },
  };

  const buildCreated = (id: string) =>
    userResource({ type: userType, id, displayName: id, emails: [`${id}@example.com`], login: id });

  const groups: ResourceSyncer = {
    resourceType: groupType,
    async list(_parent, page) {
      const all = Array.from({ length: cfg.groups }, (_, i) => buildGroup(i));
      return pageOfArray(all, page as never);
    },
    async entitlements(group) {
      if (breaks.has('crash-on-bad-input') && !state.members.has(group.id!.resource)) {
        return crash(`entitlements of unknown group ${group.id!.resource}`);
      }
      return { items: [memberEntitlement(group)] };
    },
    async grants(group, page) {
      if (breaks.has('crash-on-bad-input') && !state.members.has(group.id!.resource)) {
        return crash(`grants of unknown group ${group.id!.resource}`);
      }
      const members = [...(state.members.get(group.id!.resource) ?? [])].sort();
      if (breaks.has('dangling-principal') && group.id!.resource === 'g0') members.push('u-not-listed');
      const slice = pageOfArray(members, page as never);
      const ent = memberEntitlement(group);
      const items = slice.items.map((u) => grant(ent, resourceId(userType, u)));
      // On a page with room left, so the page stays within the size asked for.
      if (breaks.has('duplicate-grant') && items.length > 0 && items.length < page.size) items.push(items[0]);
      return { items, next: slice.next };
    },
    async grant(principal, ent) {
      if (principal.id?.resourceType !== 'user') throw invalidArgument('only users can be group members');
      if (!state.userExists(principal.id.resource)) throw notFound(`user ${principal.id.resource} not found`);
      const set = state.members.get(ent.resource!.id!.resource);
      if (!set) throw notFound(`group ${ent.resource!.id!.resource} not found`);
      if (set.has(principal.id.resource)) {
        if (breaks.has('grant-not-idempotent'))
          throw failedPrecondition(`${principal.id.resource} is already a member`);
        return { alreadyExists: true };
      }
      set.add(principal.id.resource);
      state.mutations++;
      return { grants: [grant(ent, principal)] };
    },
    async revoke(g) {
      const set = state.members.get(g.entitlement!.resource!.id!.resource);
      if (!set) throw notFound(`group ${g.entitlement!.resource!.id!.resource} not found`);
      if (!set.delete(g.principal!.id!.resource)) return { alreadyRevoked: true };
      state.mutations++;
      return {};
    },
  };

  const projects: ResourceSyncer = {
    resourceType: projectType,
    childOnly: true,
    async list(parent) {
      if (!parent || parent.resourceType !== 'group') return { items: [] };
      return {
        items: [0, 1].map((n) =>
          resource({
            type: projectType,
            id: `${parent.resource}-p${n}`,
            displayName: `Project ${n} of ${parent.resource}`,
            parent,
          }),
        ),
      };
    },
    async entitlements(project) {
      return { items: [entitlement(project, 'viewer', { displayName: 'Viewer', grantableTo: [userType, groupType] })] };
    },
    async grants(project) {
      // The parent group as a whole can view; its members inherit that through grant expansion.
      const groupIdValue = project.parentResourceId?.resource ?? project.id!.resource.split('-')[0];
      const viewer = entitlement(project, 'viewer');
      const group = resourceId(groupType, groupIdValue);
      return {
        items: [grant(viewer, group, { expandable: { entitlementIds: [`group:${groupIdValue}:member`] } })],
      };
    },
  };

  return {
    state,
    syncers: [users, groups, projects],
    async validate() {
      if (breaks.has('slow-answer')) await sleep(1200);
      if (cfg.failValidate === 'unauthenticated') throw unauthenticated('fixture: the API token was rejected');
      if (cfg.failValidate === 'unavailable') {
        throw unavailable('fixture: API is rate limited', {
          status: 'overlimit',
          limit: 10,
          remaining: 0,
          resetAtMs: Date.now() + 2000,
        });
      }
    },
    accountManager: {
      resourceTypeId: 'user',
      credentialOptions: ['noPassword'],
      async createAccount(info) {
        const login = info.login || info.emails[0]?.address?.split('@')[0];
        if (!login) throw invalidArgument('a login or an email is required');
        if (state.createdUsers.includes(login)) return { kind: 'alreadyExists', resource: buildCreated(login) };
        if (state.userExists(login)) throw failedPrecondition(`login ${login} is taken`);
        state.createdUsers.push(login);
        state.mutations++;
        return { kind: 'success', resource: buildCreated(login) };
      },
    },
  };
}

export const fixtureConnector = defineConnector({
  name: 'fixture',
  version: '0.1.0',
  metadata: {
    displayName: 'Fixture',
    description: 'A deterministic connector for tests',
    helpUrl: 'https://example.com/fixture',
  },
  config,
  create: (cfg) => createFixtureConnector(cfg),
});
