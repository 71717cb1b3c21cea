/**
 * The host (parent) side: spawn a connector with the Go handshake, talk to it over mTLS gRPC, run a full sync into
 * a store, and run one-shot provisioning calls.
 */
export * from './listener.js';
export * from './client.js';
export * from './rate-limit-gate.js';
export * from './spawn.js';
export { StartupGate } from './startup-gate.js';
export * from './walk.js';
export * from './sync.js';
export * from './checkpoint.js';
export * from './provision.js';

// Compile-time check: the c1z SyncStore satisfies what the sync engine and the provisioning flows need.
import type { SyncStore } from '../c1z/index.js';
import type { SyncStoreLike } from './sync.js';
import type { ProvisionStoreLike } from './provision.js';
type Assert<T extends true> = T;
export type C1zStoreFitsHost = Assert<SyncStore extends SyncStoreLike & ProvisionStoreLike ? true : false>;
