/**
 * `@baton-ts/shared/scim-simulator`: a SCIM 2.0 server for tests, benchmarks and `--demo`, with switches for the
 * quirks of real servers, seeded datasets, what a correct sync of its data contains, and test helpers. Only tests,
 * benchmarks and a connector's lazily loaded `simulator` hook import it; production runs never do.
 */
export { DEFAULT_SCIM_TOKEN, startScimSimulator, type ScimSimulator, type ScimSimulatorOptions } from './server.js';
export {
  SCIM_DATASETS,
  generateScimDataset,
  resolveScimDataset,
  type ScimDatasetName,
  type ScimDatasetSpec,
} from './dataset.js';
export {
  ScimSimError,
  ScimState,
  type ScimData,
  type StoredGroup,
  type StoredMember,
  type StoredUser,
} from './state.js';
export type { PatchOpCase, RemoveMemberForms } from './patch.js';
export {
  expectedScimSync,
  scimSyncFloor,
  scimSyncMismatches,
  type ExpectedScimSync,
  type SyncedScimData,
} from './expectations.js';
export { SCIM_QUIRK_PRESETS, type ScimQuirkPreset, type ScimQuirks } from './quirks.js';
export {
  FAST_RETRIES,
  bundledScimSimulator,
  scimSimulatorSet,
  scimTestConnector,
  type ScimSimulatorSet,
  type ScimTestConnector,
} from './harness.js';
