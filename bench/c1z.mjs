// c1z write rate: how fast the host stores a sync (SyncStore puts, i.e. encoding every row deterministically and
// inserting it into SQLite) and compresses it into a .c1z file.
//
// The rows are built with the SDK builders and then decoded from their wire bytes, as the host receives them.
// Shape: 10,000 users (100-byte profiles), 1,000 groups with one `member` entitlement each, 100,000 grants, put in
// pages of 250 like the sync engine does.
// Usage: npm run build && node bench/c1z.mjs [--grants N]
import os from 'node:os';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { entitlement, grant, groupResource, resourceType, userResource } from '../packages/shared/dist/index.js';
import { SyncStore } from '../packages/shared/dist/c1z/index.js';
import { ResourceSchema } from '../packages/shared/dist/gen/c1/connector/v2/resource_pb.js';
import { EntitlementSchema } from '../packages/shared/dist/gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../packages/shared/dist/gen/c1/connector/v2/grant_pb.js';

const args = process.argv.slice(2);
const GRANTS = args.includes('--grants') ? Number(args[args.indexOf('--grants') + 1]) : 100_000;
const USERS = 10_000;
const GROUPS = 1_000;
const PAGE = 250;

/** What the host holds after decoding a reply: fresh messages, not the builders' objects. */
const viaWire = (schema, message) => fromBinary(schema, toBinary(schema, message));

const userType = resourceType({ id: 'user', displayName: 'User', traits: ['user'] });
const groupType = resourceType({ id: 'group', displayName: 'Group', traits: ['group'] });
const users = [];
for (let i = 0; i < USERS; i++) {
  users.push(
    viaWire(
      ResourceSchema,
      userResource({
        type: userType,
        id: `user-${i}`,
        displayName: `User ${i}`,
        emails: [`user${i}@example.com`],
        login: `user${i}`,
        profile: { padding: 'x'.repeat(100), index: i, email: `user${i}@example.com` },
      }),
    ),
  );
}
const groups = [];
const entitlements = [];
for (let i = 0; i < GROUPS; i++) {
  const group = groupResource({ type: groupType, id: `group-${i}`, displayName: `Group ${i}`, profile: { index: i } });
  groups.push(viaWire(ResourceSchema, group));
  entitlements.push(
    viaWire(
      EntitlementSchema,
      entitlement(group, 'member', { displayName: `Group ${i} member`, grantableTo: [userType] }),
    ),
  );
}
const grants = [];
for (let i = 0; i < GRANTS; i++) {
  grants.push(viaWire(GrantSchema, grant(entitlements[i % GROUPS], users[Math.floor(i / GROUPS) % USERS].id)));
}

const dir = mkdtempSync(join(tmpdir(), 'c1z-bench-'));
try {
  for (const round of ['warm-up ', 'measured']) {
    const store = SyncStore.create({ tempDir: dir });
    store.startSync();
    const t0 = performance.now();
    store.putResourceTypes([userType, groupType]);
    for (let i = 0; i < users.length; i += PAGE) store.putResources(users.slice(i, i + PAGE));
    for (let i = 0; i < groups.length; i += PAGE) store.putResources(groups.slice(i, i + PAGE));
    for (let i = 0; i < entitlements.length; i += PAGE) store.putEntitlements(entitlements.slice(i, i + PAGE));
    const t1 = performance.now();
    for (let i = 0; i < grants.length; i += PAGE) store.putGrants(grants.slice(i, i + PAGE));
    const t2 = performance.now();
    store.endSync();
    const file = join(dir, 'bench.c1z');
    await store.saveC1z(file);
    const t3 = performance.now();
    store.close();
    const rows = users.length + groups.length + entitlements.length + grants.length;
    console.log(
      `${round} ${rows} rows: resources+entitlements ${Math.round((users.length + groups.length + entitlements.length) / ((t1 - t0) / 1000))} rows/s, ` +
        `grants ${Math.round(grants.length / ((t2 - t1) / 1000))} rows/s, all puts ${Math.round(rows / ((t2 - t0) / 1000))} rows/s ` +
        `(${((t2 - t0) / 1000).toFixed(2)} s); save .c1z ${((t3 - t2) / 1000).toFixed(2)} s (${(statSync(file).size / 1e6).toFixed(1)} MB)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `node ${process.version}, load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${os.cpus().length} cpus)`,
);
