// Provisioning under faults (docs/reliability.md, "Provisioning under faults"), for every connector that provisions
// (twingate, vgs, celigo, vega; rudderstack is read-only): the API applies a grant, a revoke, an account creation or
// a deletion, but its answer is lost (the connection is reset after the change, or the body arrives cut short).
// The call is either reported as done, and done exactly once, or reported as failed; retrying it succeeds without
// an error and ends with exactly one membership (or none, after a revoke), one account, no account after a delete.
// Each connector is one child spawned through the real handshake; calls go through the host's provisioning flows.
import { describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import {
  createAccount,
  deleteResource,
  grantEntitlement,
  revokeGrant,
  runSync,
  type ConnectorClient,
} from '@baton-ts/shared/host';
import type { Fault } from '@baton-ts/shared/simulator';
import { CONNECTORS, reliabilityFixtures, spawnChild } from './support.js';

const fixtures = reliabilityFixtures('provisioning');

/** The two ways an answer to a write that was applied gets lost. */
const LOST_ANSWERS: Array<{ what: string; fault: Fault }> = [
  { what: 'connection reset after the change', fault: { kind: 'lostResponse' } },
  { what: 'answer cut short after the change', fault: { kind: 'malformed' } },
];

/** The outcome of the faulted call: done, or failed with the error's text. */
async function attempt<T>(call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

async function syncedStore(client: ConnectorClient): Promise<SyncStore> {
  const store = SyncStore.create();
  await runSync(client, store);
  return store;
}

const provisioners = CONNECTORS.filter((c) => c.name !== 'rudderstack');

describe.concurrent('provisioning whose answer is lost', () => {
  for (const c of provisioners) {
    for (const { what, fault } of LOST_ANSWERS) {
      it(
        `${c.name}, ${what}: grant, revoke${c.name === 'vgs' || c.name === 'vega' ? ', create and delete an account' : ''} are applied once or reported failed; retries are safe`,
        { timeout: 120_000 },
        async () => {
          const sim = await fixtures.start(c, { pages: 'api' });
          const targets = sim.provisioning!;
          const loseNextWriteAnswer = () =>
            sim.faults.set({ match: (req) => targets.isWrite(req), rules: [{ fault, nth: 1 }] });
          const faultFired = () => sim.log.count((e) => e.fault === fault.kind);

          const child = await spawnChild(c, [...sim.flags, '--provisioning']);
          try {
            const { grant } = targets;
            const grantArgs = {
              entitlementId: grant.entitlementId,
              principalType: grant.principal.resourceType,
              principalId: grant.principal.resource,
            };
            const before = await syncedStore(child.client);
            expect(grant.held()).toBe(0);

            // Grant: the change is made, the answer lost.
            loseNextWriteAnswer();
            const granted = await attempt(() => grantEntitlement(child.client, before, grantArgs));
            expect(faultFired()).toBe(1);
            if (granted.ok) expect(grant.held(), 'reported granted').toBe(1);
            // A failure says the change may have been made, so nobody takes it for "nothing happened".
            else expect(granted.error).toMatch(/may have applied it/);
            sim.faults.clear();
            await grantEntitlement(child.client, before, grantArgs);
            expect(grant.held()).toBe(1);
            before.close();

            // Revoke: the same.
            const after = await syncedStore(child.client);
            const held = [...after.grants()].find(
              (g) =>
                g.entitlement?.id === grant.entitlementId && g.principal?.id?.resource === grant.principal.resource,
            );
            expect(held, 'the grant in a sync after granting').toBeDefined();
            loseNextWriteAnswer();
            const revoked = await attempt(() => revokeGrant(child.client, after, held!.id));
            expect(faultFired()).toBe(2);
            if (revoked.ok) expect(grant.held(), 'reported revoked').toBe(0);
            else expect(revoked.error).toMatch(/may have applied it/);
            sim.faults.clear();
            await revokeGrant(child.client, after, held!.id);
            expect(grant.held()).toBe(0);
            after.close();

            const { account } = targets;
            if (!account) return;
            // Create an account: one account, whatever happened to the first answer.
            const args = { login: account.login, email: account.email, profile: account.profile };
            loseNextWriteAnswer();
            const created = await attempt(() => createAccount(child.client, args));
            expect(faultFired()).toBe(3);
            expect(account.count()).toBeLessThanOrEqual(1);
            if (created.ok) expect(account.count(), 'reported created').toBe(1);
            else expect(created.error).toMatch(/may have applied it/);
            sim.faults.clear();
            const again = await createAccount(child.client, args);
            expect(['success', 'alreadyExists']).toContain(again.result);
            expect(account.count()).toBe(1);
            const id = again.resource!.id!;
            expect(account.exists(id.resource)).toBe(true);

            // Delete it: gone, and the retry says so rather than failing.
            loseNextWriteAnswer();
            const deleted = await attempt(() =>
              deleteResource(child.client, { resourceType: id.resourceType, resourceId: id.resource }),
            );
            expect(faultFired()).toBe(4);
            if (deleted.ok) expect(account.exists(id.resource), 'reported deleted').toBe(false);
            else expect(deleted.error).toMatch(/may have applied it/);
            sim.faults.clear();
            await deleteResource(child.client, { resourceType: id.resourceType, resourceId: id.resource });
            expect(account.exists(id.resource)).toBe(false);
            expect(account.count()).toBe(0);
          } finally {
            await child.close();
          }
        },
      );
    }
  }
});
