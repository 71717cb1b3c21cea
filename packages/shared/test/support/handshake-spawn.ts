/** The step-by-step handshake spawner lives in the testing entry point (src/testing/handshake-spawn.ts). */
export { spawnPlugin, type SpawnedPlugin } from '../../src/testing/handshake-spawn.js';
