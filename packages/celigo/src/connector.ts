/**
 * The Celigo connector: users, integrations and roles from the Celigo integrator.io API; account-wide role
 * provisioning. See README.md for setup and docs/apis/celigo.md for the API facts relied on.
 */
import {
  Code,
  ConnectorError,
  defineConnector,
  type CallContext,
  type Connector,
  type ConnectorRuntime,
} from '@baton-ts/shared';
import { AccountIndex } from './account-index.js';
import { CeligoClient, type CeligoClientOptions } from './client.js';
import { apiBaseUrl, configSchema, type CeligoConfig } from './config.js';
import { integrationSyncer } from './resources/integration.js';
import { roleSyncer } from './resources/role.js';
import { userSyncer } from './resources/user.js';
// Type only: erased at run time, so production runs never load simulator code.
import type { DatasetName } from '../simulator/index.js';

/** Keep in step with package.json (a test checks it). */
export const VERSION = '0.1.0';

export interface CeligoConnectorOptions {
  /** HTTP client tuning (tests shorten retry waits). */
  http?: Pick<CeligoClientOptions, 'retry' | 'sleep' | 'timeoutMs'>;
  accountIndex?: AccountIndex;
}

export interface CeligoConnector extends Connector {
  readonly client: CeligoClient;
  readonly accountIndex: AccountIndex;
}

/** Builds the connector from a parsed config; no I/O happens here. */
export function createCeligoConnector(
  config: CeligoConfig,
  runtime: ConnectorRuntime,
  options: CeligoConnectorOptions = {},
): CeligoConnector {
  const client = new CeligoClient({
    baseUrl: apiBaseUrl(config),
    accessToken: config.celigoAccessToken,
    logger: runtime.logger,
    stats: runtime.stats,
    ...options.http,
  });
  // Filled by the users listing; read by the role grants and the integration entitlements (account-index.ts).
  const accountIndex = options.accountIndex ?? new AccountIndex();

  return {
    client,
    accountIndex,
    // The Go connector's order.
    syncers: [
      userSyncer({ client, accountIndex }),
      integrationSyncer({ client, accountIndex }),
      roleSyncer({ client, accountIndex }),
    ],
    async validate(ctx: CallContext) {
      try {
        await client.validate(ctx.signal);
      } catch (err) {
        throw explainValidationError(err, config);
      }
    },
    async cleanup() {
      accountIndex.clear();
      client.clear();
    },
  };
}

const TOKEN_ADVICE =
  'Celigo needs an API token with Full access scope: in Celigo, an account owner or administrator creates one under ' +
  'Resources > API tokens > Create API token (Scope: Full access); a Custom scope token cannot read users';

/** Turns the usual first-run failures into messages that say what to fix. */
export function explainValidationError(err: unknown, config: Pick<CeligoConfig, 'region' | 'baseUrl'>): unknown {
  if (!(err instanceof ConnectorError)) return err;
  const where = config.baseUrl
    ? `the Celigo API at ${config.baseUrl} (--base-url)`
    : `the Celigo API for region ${config.region} (${apiBaseUrl(config)})`;
  const status = (err as { status?: number }).status;
  const errorCode = (err as { errorCode?: string }).errorCode;
  const wrap = (code: Code, message: string) =>
    new ConnectorError(code, `${message} [${err.message}]`, { cause: err, rateLimit: err.rateLimit });

  if (err.code === Code.Unauthenticated) {
    const otherRegion = config.region === 'eu' ? 'us' : 'eu';
    return wrap(
      Code.Unauthenticated,
      `celigo: ${where} rejected the access token: check --celigo-access-token (BATON_CELIGO_ACCESS_TOKEN). ${TOKEN_ADVICE}. ` +
        `The token may be mistyped, revoked or auto-purged, or belong to an account in the other region (--region ${otherRegion})`,
    );
  }
  if (err.code === Code.PermissionDenied) {
    return wrap(
      Code.PermissionDenied,
      `celigo: the access token may not read the account's users on ${where}. ${TOKEN_ADVICE}`,
    );
  }
  if (status !== undefined && status >= 200 && status < 400) {
    return wrap(
      Code.FailedPrecondition,
      `celigo: ${where} did not answer like the Celigo API (HTTP ${status}, not a JSON list of users): check --region (BATON_REGION)${config.baseUrl ? ' and --base-url' : ''}`,
    );
  }
  if (errorCode === 'ENOTFOUND' || status === 404) {
    return wrap(
      Code.NotFound,
      `celigo: ${where} was not found: check --region (BATON_REGION)${config.baseUrl ? ' and --base-url' : ''}`,
    );
  }
  return err;
}

export const celigo = defineConnector({
  name: 'celigo',
  version: VERSION,
  metadata: {
    displayName: 'Celigo',
    description:
      'Syncs Celigo integrator.io users, integrations and account roles; provisions account roles (Monitor, Manage, Administrator)',
    helpUrl: 'https://developer.celigo.com',
  },
  config: configSchema,
  // What to check when the API cannot be reached: the CLI names the one whose host failed.
  endpointFields: ['baseUrl', 'region'],
  create: (config, runtime) => createCeligoConnector(config, runtime),
  simulator: async () => {
    const { startCeligoSimulator, DATASET_LIST } = await import('../simulator/index.js');
    return {
      datasets: DATASET_LIST,
      // Documented limits: Celigo's leaky bucket, a burst of 1000 draining 300 a second (docs/apis/celigo.md).
      start: (options) =>
        startCeligoSimulator({
          host: options.host,
          port: options.port,
          dataset: options.dataset as DatasetName | undefined,
          latencyMs: options.latencyMs,
          faults: options.faults,
          // Celigo's own page size (docs/apis/celigo.md), not the small pages the simulator's tests use.
          pageSize: 1000,
          maxPageSize: 1000,
          ...(options.rateLimits === 'off' ? { rateLimit: null } : {}),
        }),
    };
  },
});
