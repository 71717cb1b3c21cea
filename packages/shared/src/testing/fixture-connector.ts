/**
 * A small, deterministic connector used by the SDK, server, host and CLI tests and by the benchmarks.
 * It models: users (TRAIT_USER), groups (TRAIT_GROUP) with a `member` entitlement and provisioning, a child-only
 * `project` type under each group whose `viewer` entitlement is granted to the group's members through an
 * expandable grant, and account creation. Users are computed from their index, so a million of them cost no memory.
 */
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
});

export type FixtureConfig = z.output<typeof config>;

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
  const memberEntitlement = (group: ReturnType<typeof buildGroup>) =>
    entitlement(group, 'member', { displayName: `${group.displayName} Member`, grantableTo: [userType] });

  const users: ResourceSyncer = {
    resourceType: userType,
    defaultPageSize: 100,
    async list(_parent, page) {
      if (cfg.throwInList) throw new Error(`database password=${cfg.apiToken} exploded`);
      const start = (page.state as number | undefined) ?? 0;
      const items = [];
      let i = start;
      for (; i < cfg.users && items.length < page.size; i++) {
        if (!state.deletedUsers.has(userIdOf(i))) items.push(buildUser(state, i));
      }
      const created = i >= cfg.users && start <= cfg.users ? state.createdUsers.map((id) => buildCreated(id)) : [];
      return { items: [...items, ...created], next: i < cfg.users ? i : undefined };
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
      return { items: [memberEntitlement(group)] };
    },
    async grants(group, page) {
      const members = [...(state.members.get(group.id!.resource) ?? [])].sort();
      const slice = pageOfArray(members, page as never);
      const ent = memberEntitlement(group);
      return { items: slice.items.map((u) => grant(ent, resourceId(userType, u))), next: slice.next };
    },
    async grant(principal, ent) {
      if (principal.id?.resourceType !== 'user') throw invalidArgument('only users can be group members');
      if (!state.userExists(principal.id.resource)) throw notFound(`user ${principal.id.resource} not found`);
      const set = state.members.get(ent.resource!.id!.resource);
      if (!set) throw notFound(`group ${ent.resource!.id!.resource} not found`);
      if (set.has(principal.id.resource)) return { alreadyExists: true };
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
