/** Version of @baton-ts/shared and of its own bins (`baton-inspect`, `baton-conform`): keep in step with package.json (a test checks it). */
export const SHARED_VERSION = '0.1.0';
