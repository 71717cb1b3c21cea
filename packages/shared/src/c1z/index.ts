export * from './store.js';
export * from './envelope.js';
export * from './ksuid.js';
export * from './time.js';
/** The encoding of c1z blobs: Go's `proto.MarshalOptions{Deterministic: true}` (map entries sorted by key). */
export { toDeterministicBinary } from './deterministic.js';
export * from './protojson.js';
export * from './jsonl.js';
export * from './io.js';
export * from './schema.js';
