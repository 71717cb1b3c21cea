/**
 * The Twingate connector: users, groups and roles from the Twingate Admin API; group membership and role
 * provisioning. See README.md for setup.
 */
import {
  Code,
  ConnectorError,
  defineConnector,
  type CallContext,
  type Connector,
  type ConnectorRuntime,
} from '@baton-ts/shared';
import { TwingateClient, type TwingateClientOptions } from './client.js';
import { configSchema, consoleOrigin, graphqlEndpoint, type TwingateConfig } from './config.js';
import { MemberPageCache } from './member-cache.js';
import { newUserRoleIndex, type UserRoleIndex } from './role-index.js';
import { groupSyncer } from './resources/group.js';
import { ROLES, roleSyncer } from './resources/role.js';
import { userSyncer } from './resources/user.js';
// Type only: erased at run time, so production runs never load simulator code.
import type { DatasetName } from '../simulator/index.js';

/** Keep in step with package.json (a test checks it). */
export const VERSION = '0.1.0';

export interface TwingateConnectorOptions {
  /** HTTP client tuning (tests shorten retry waits). */
  http?: Pick<TwingateClientOptions, 'retry' | 'sleep' | 'timeoutMs'>;
  memberCache?: MemberPageCache;
  roleIndex?: UserRoleIndex;
}

export interface TwingateConnector extends Connector {
  readonly client: TwingateClient;
  readonly memberCache: MemberPageCache;
  readonly roleIndex: UserRoleIndex;
}

/** Builds the connector from a parsed config; no I/O happens here. */
export function createTwingateConnector(
  config: TwingateConfig,
  runtime: ConnectorRuntime,
  options: TwingateConnectorOptions = {},
): TwingateConnector {
  const endpoint = graphqlEndpoint(config);
  const client = new TwingateClient({
    endpoint,
    apiKey: config.apiKey,
    logger: runtime.logger,
    stats: runtime.stats,
    ...options.http,
  });
  const memberCache = options.memberCache ?? new MemberPageCache();
  // Filled by the users listing, read by the role grants (role-index.ts).
  const roleIndex = options.roleIndex ?? newUserRoleIndex();
  const origin = consoleOrigin(config);

  return {
    client,
    memberCache,
    roleIndex,
    syncers: [
      groupSyncer({ client, memberCache, consoleOrigin: origin }),
      roleSyncer({ client, roleIndex }),
      userSyncer({ client, consoleOrigin: origin, knownRoles: new Set(ROLES.map((r) => r.role)), roleIndex }),
    ],
    async validate(ctx: CallContext) {
      try {
        await client.validate(ctx.signal);
      } catch (err) {
        throw explainValidationError(err, config, endpoint);
      }
    },
    async cleanup() {
      memberCache.clear();
      roleIndex.clear();
    },
  };
}

/** Turns the usual first-run failures into messages that say what to fix. */
export function explainValidationError(
  err: unknown,
  config: Pick<TwingateConfig, 'domain' | 'baseUrl'>,
  endpoint: string,
): unknown {
  if (!(err instanceof ConnectorError)) return err;
  const where = config.baseUrl
    ? `the API at ${endpoint} (--base-url)`
    : `Twingate network "${config.domain}" (${endpoint})`;
  const status = (err as { status?: number }).status;
  const errorCode = (err as { errorCode?: string }).errorCode;
  const wrap = (code: Code, message: string) =>
    new ConnectorError(code, `${message} [${err.message}]`, { cause: err, rateLimit: err.rateLimit });

  if (err.code === Code.Unauthenticated) {
    return wrap(
      Code.Unauthenticated,
      `twingate: ${where} rejected the API key: check --api-key (BATON_API_KEY); the token may be mistyped, revoked or expired, or limited to other IP ranges (Allowed Range)`,
    );
  }
  if (err.code === Code.PermissionDenied) {
    return wrap(
      Code.PermissionDenied,
      `twingate: the API token may not read users on ${where}: generate a token with Read only (access reviews) or Read & Write (provisioning) permission`,
    );
  }
  if (errorCode === 'ENOTFOUND' || status === 404) {
    return wrap(
      Code.NotFound,
      `twingate: ${where} was not found: check --domain (BATON_DOMAIN); it is the network name, e.g. "acme" for https://acme.twingate.com`,
    );
  }
  if (status !== undefined && status >= 200 && status < 400) {
    return wrap(
      Code.FailedPrecondition,
      `twingate: ${where} did not answer like the Twingate API (HTTP ${status}, not GraphQL JSON): check --domain (BATON_DOMAIN)`,
    );
  }
  return err;
}

export const twingate = defineConnector({
  name: 'twingate',
  version: VERSION,
  metadata: {
    displayName: 'Twingate',
    description: 'Syncs Twingate users, groups and roles; provisions group membership and roles',
    helpUrl: 'https://www.twingate.com/docs/api-overview',
  },
  config: configSchema,
  // --base-url replaces the address built from --domain, so it is the one to check when it is set.
  endpointFields: ['baseUrl', 'domain'],
  create: (config, runtime) => createTwingateConnector(config, runtime),
  simulator: async () => {
    const { startTwingateSimulator, DATASET_LIST } = await import('../simulator/index.js');
    return {
      datasets: DATASET_LIST,
      // Documented limits: 60 queries and 20 mutations a minute per token (docs/apis/twingate.md), the default.
      start: (options) =>
        startTwingateSimulator({
          host: options.host,
          port: options.port,
          dataset: options.dataset as DatasetName | undefined,
          latencyMs: options.latencyMs,
          faults: options.faults,
          ...(options.rateLimits === 'off' ? { rateLimits: { read: 0, write: 0 } } : {}),
        }),
    };
  },
});
