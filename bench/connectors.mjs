// What the benchmark knows about each connector: its bin, the API's documented rate limit and maximum page size, and
// for a dataset the fewest API requests a full sync needs (the floor) and what the Go connector's call pattern needs
// for the same data (its peer). Both are computed from the simulator's own seeded data, generated here in the bench
// process (the simulator that serves the sync runs in a process of its own).
//
// The API facts behind each model are in docs/apis/<app>.md.
const root = new URL('..', import.meta.url);
const dist = (path) => new URL(path, root).href;

const pagesOf = (size) => (n) => Math.max(1, Math.ceil(n / size));
const sum = (parts) => Object.values(parts).reduce((a, b) => a + b, 0);

/** A model from its request counts by part: the floor and the Go peer are their sums. */
const modelOf = ({ data, floorParts, goParts, goNote }) => ({
  data,
  floor: sum(floorParts),
  floorParts,
  go: sum(goParts),
  goNote,
});

/**
 * @typedef {{ kind: 'window', perWindow: number, windowMs: number }
 *   | { kind: 'bucket', burst: number, perSecond: number }
 *   | { kind: 'none' }} RateLimit
 * @typedef {{ data: string, floor: number, floorParts: Record<string, number>, go: number, goNote: string }} Model
 */

/** The five connectors, in the order RESULTS.md lists them. */
export const CONNECTORS = [
  {
    name: 'twingate',
    /** docs/apis/twingate.md: about 60 queries a minute per token (mutations: 20; a sync makes none). */
    rateLimit: { kind: 'window', perWindow: 60, windowMs: 60_000 },
    rateLimitText: '60 queries/min per token (documented)',
    pageSize: 100,
    userType: 'user',
    async model(dataset) {
      const sim = await import(dist('packages/twingate/dist/simulator/index.js'));
      const state = new sim.TwingateState(sim.generateDataset(dataset), () => 0);
      const pages = pagesOf(100);
      const users = state.listUsers().length;
      const groups = state.listGroups();
      const members = groups.map((g) => state.groupMembers(g.id).length);
      const roles = 5;
      // Groups come with their first 100 members nested; only larger groups page on. Role grants come from the
      // users listing (each user carries its role).
      const floorParts = {
        validate: 1,
        users: pages(users),
        groups: pages(groups.length),
        'more members': members.reduce((n, m) => n + pages(m) - 1, 0),
      };
      // The Go connector: groups, users, one unpaginated member read per group, and a full users scan per role.
      const goParts = {
        validate: 1,
        groups: pages(groups.length),
        users: pages(users),
        'member reads': groups.length,
        'role scans': roles * pages(users),
      };
      return modelOf({
        data: `${users} users, ${groups.length} groups, ${members.reduce((a, b) => a + b, 0)} memberships`,
        floorParts,
        goParts,
        goNote: `${members.filter((m) => m > 100).length} groups cut to their first 100 members`,
      });
    },
  },
  {
    name: 'vgs',
    /** docs/apis/vgs.md: no published accounts-API limit; 200/min per service account is its sandbox proxy figure. */
    rateLimit: { kind: 'window', perWindow: 200, windowMs: 60_000 },
    rateLimitText: '200 requests/min per service account (VGS documents none for this API; its sandbox figure)',
    pageSize: 100,
    userType: 'user',
    async model(dataset) {
      const sim = await import(dist('packages/vgs/dist/simulator/index.js'));
      const state = new sim.VgsState(sim.generateDataset(dataset, Date.now()), Date.now);
      const pages = pagesOf(100);
      const org = sim.PRIMARY_ORGANIZATION_ID;
      const own = state.serviceAccount(sim.DEFAULT_CLIENT_ID);
      const visibleOrgs = state.organizationsOf(own);
      const visibleVaults = state.listVaults(new Set(visibleOrgs.map((o) => o.id)));
      const orgVaults = state.listVaults(new Set([org]));
      const members = state.listMembers(org).length + state.listServiceAccounts(org).length;
      const invites = state.listInvites(org).length;
      const vaultMembers = orgVaults.map((v) => state.listVaultMembers(v.identifier).length);
      const floorParts = {
        token: 1,
        organizations: pages(visibleOrgs.length),
        members: pages(members),
        invitations: pages(invites),
        vaults: pages(visibleVaults.length),
        'vault members': vaultMembers.reduce((n, m) => n + pages(m), 0),
      };
      // The Go connector (with the Go SDK's HTTP cache, on by default): token, organizations, vaults, members and
      // invitations once, and every visible vault's members, one document each: it never follows a page link.
      const goParts = {
        token: 1,
        organizations: 1,
        vaults: 1,
        'members+invites': 2,
        'vault members': visibleVaults.length,
      };
      const cut =
        [members, invites, visibleVaults.length].filter((n) => n > 100).length +
        vaultMembers.filter((m) => m > 100).length;
      return modelOf({
        data: `${members} members, ${orgVaults.length} vaults, ${vaultMembers.reduce((a, b) => a + b, 0)} vault memberships, ${invites} invitations`,
        floorParts,
        goParts,
        goNote: `reads first pages only: ${cut} lists cut`,
      });
    },
  },
  {
    name: 'celigo',
    /** docs/apis/celigo.md: a leaky bucket per account, a burst of 1000 draining 300 a second; pages of 1000. */
    rateLimit: { kind: 'bucket', burst: 1000, perSecond: 300 },
    rateLimitText: 'leaky bucket: burst 1000, 300/s per account (documented)',
    pageSize: 1000,
    userType: 'user',
    async model(dataset) {
      const sim = await import(dist('packages/celigo/dist/simulator/index.js'));
      const state = new sim.CeligoState(sim.generateDataset(dataset), () => 0);
      const pages = pagesOf(1000);
      const users = state.listShares().length;
      const integrations = state.listIntegrations();
      const rows = integrations.map((i) => state.integrationUsers(i._id).length);
      const floorParts = {
        validate: 1,
        users: pages(users),
        integrations: pages(integrations.length),
        'integration users': rows.reduce((n, r) => n + pages(r), 0),
      };
      // The Go connector sends no validate request and scans every user once per role (3 roles); it fails at the
      // first second page it asks for (it uses the raw Link header as the next URL).
      const goParts = {
        users: pages(users),
        integrations: pages(integrations.length),
        'integration users': floorParts['integration users'],
        'role scans': 3 * pages(users),
      };
      return modelOf({
        data: `${users} users, ${integrations.length} integrations, ${rows.reduce((a, b) => a + b, 0)} integration users`,
        floorParts,
        goParts,
        goNote: users > 1000 ? 'fails at the users list’s second page' : 'complete',
      });
    },
  },
  ...['rudderstack', 'vega'].map((name) => ({
    name,
    /** docs/apis/scim.md: neither RudderStack nor VEGA publishes a rate limit; the simulator applies none. */
    rateLimit: { kind: 'none' },
    rateLimitText: 'none published; none applied',
    pageSize: 100,
    userType: 'user',
    async model(dataset) {
      const sim = await import(dist('packages/shared/dist/scim/simulator/index.js'));
      const state = new sim.ScimState(sim.generateScimDataset(dataset), () => 0);
      const pages = pagesOf(100);
      const users = state.listUsers().length;
      const groups = state.listGroups().length;
      const floorParts = { validate: 1, users: pages(users), groups: pages(groups) };
      const goParts = scimPerGroupPattern(users, groups);
      const memberships = state.listGroups().reduce((n, g) => n + g.members.length, 0);
      return modelOf({
        data: `${users} users, ${groups} groups, ${memberships} memberships`,
        floorParts,
        goParts,
        goNote: 'complete',
      });
    },
  })),
];

/**
 * The generic Go SCIM connector's pattern (baton-scim; neither RudderStack nor VEGA has a Go connector of its own):
 * users and groups listed (groups without members) at 100 a page, then one GET per group.
 */
export function scimPerGroupPattern(users, groups) {
  const pages = pagesOf(100);
  return { validate: 1, users: pages(users), groups: pages(groups), 'group GETs': groups };
}

/**
 * The least wall time the API allows for `requests` requests started at `startMs` (epoch ms): one after another (a
 * sync walks page after page, each page token coming from the previous reply), each costing `latencyMs`, and each
 * sent no earlier than the rate limit admits it. Computed request by request: a fixed window of L requests per W ms
 * is aligned to the clock, as the simulator's is (so a sync that starts late in a window gets few of its L); a leaky
 * bucket (burst B, r per second) admits a request once the level has drained below B. Process start, the handshake and
 * writing the c1z are not included.
 */
export function wallFloorMs(rateLimit, requests, latencyMs, startMs) {
  let t = startMs;
  if (rateLimit.kind === 'window') {
    const { perWindow, windowMs } = rateLimit;
    let windowStart = Math.floor(t / windowMs) * windowMs;
    let used = 0;
    for (let i = 0; i < requests; i++) {
      const current = Math.floor(t / windowMs) * windowMs;
      if (current !== windowStart) {
        windowStart = current;
        used = 0;
      }
      if (used >= perWindow) {
        t = windowStart + windowMs;
        windowStart = t;
        used = 0;
      }
      used++;
      t += latencyMs;
    }
  } else if (rateLimit.kind === 'bucket') {
    const { burst, perSecond } = rateLimit;
    let level = 0;
    let at = t;
    for (let i = 0; i < requests; i++) {
      level = Math.max(0, level - ((t - at) / 1000) * perSecond);
      at = t;
      if (level + 1 > burst) {
        t += ((level + 1 - burst) / perSecond) * 1000;
        level = burst - 1;
        at = t;
      }
      level++;
      t += latencyMs;
    }
  } else {
    t += requests * latencyMs;
  }
  return t - startMs;
}
