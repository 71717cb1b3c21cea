export * from './types.js';
export * from './random.js';
export * from './rate-limit.js';
export * from './leaky-bucket.js';
export * from './faults.js';
export * from './request-log.js';
export * from './auth.js';
export * from './http-server.js';
