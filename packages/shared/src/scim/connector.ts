/**
 * Assembles a SCIM connector from its parts: one ScimClient and one ScimMemberships shared by the connector's
 * syncers, Validate with explained errors, and cleanup. The connector package supplies its config, wording,
 * resource types and what it provisions (src/resources/*.ts there); everything else is here.
 */
import type { AccountManager, CallContext, Connector, ConnectorRuntime, ResourceSyncer } from '../sdk/connector.js';
import { ScimClient, type ScimClientOptions } from './client.js';
import { explainScimValidation, scimErrorExplainer, type ScimWording } from './explain.js';
import { ScimMemberships } from './memberships.js';

/** What a connector's resource files build their syncers from. */
export interface ScimParts {
  client: ScimClient;
  memberships: ScimMemberships;
}

/** HTTP tuning a connector or its tests may pass through (tests shorten retry waits). */
export type ScimHttpOptions = Pick<ScimClientOptions, 'retry' | 'sleep' | 'timeoutMs' | 'pageSize' | 'bufferItems'>;

export interface ScimConnectorOptions {
  /** Short name for logs and messages, e.g. "rudderstack". */
  service: string;
  baseUrl: string;
  token: string;
  wording: ScimWording;
  runtime: ConnectorRuntime;
  syncers: (parts: ScimParts) => ResourceSyncer[];
  accountManager?: (parts: ScimParts) => AccountManager;
  http?: ScimHttpOptions;
}

export interface ScimConnector extends Connector, ScimParts {}

/** Builds the connector; no I/O happens here (a host may only ask for capabilities). */
export function createScimConnector(options: ScimConnectorOptions): ScimConnector {
  const { service, wording, runtime } = options;
  const client = new ScimClient({
    service,
    baseUrl: options.baseUrl,
    token: options.token,
    logger: runtime.logger,
    stats: runtime.stats,
    explain: scimErrorExplainer(service, wording),
    ...options.http,
  });
  const memberships = new ScimMemberships({ client, logger: runtime.logger });
  const parts = { client, memberships };
  return {
    client,
    memberships,
    syncers: options.syncers(parts),
    accountManager: options.accountManager?.(parts),
    async validate(ctx: CallContext) {
      try {
        await client.probe({ signal: ctx.signal });
      } catch (err) {
        throw explainScimValidation(err, service, wording, client.baseUrl);
      }
    },
    async cleanup() {
      memberships.clear();
      client.clearBuffer();
    },
  };
}
