export * from './types.js';
export * from './random.js';
export * from './rate-limit.js';
export * from './faults.js';
export * from './request-log.js';
export * from './auth.js';
export * from './http-server.js';
export * from './runtime-options.js';
