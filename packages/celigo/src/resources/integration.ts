/**
 * Celigo integrations (`/v1/integrations`), as apps. Each declares one entitlement per access level a user can hold
 * on it; grants come from the integration's own user list (`/v1/integrations/{id}/ashares`), which reports every user
 * with the level they hold on that integration: `manage` or `monitor` from an account-wide level or a per-integration
 * one, and `administrator` for account administrators.
 *
 * Entitlements: `manage` and `monitor` (the Go connector's two, same ids), `administrator` (the Go connector emitted
 * grants to it without declaring it), and any other level the users listing of this sync reported, so that every
 * grant refers to a declared entitlement. A user reported with a level that was not declared (say, a level Celigo
 * adds and the users listing did not show, or a process restarted between phases) is left out with a warning,
 * never a grant to an entitlement the host does not have. Integration access is synced, not provisioned.
 */
import {
  appResource,
  Code,
  ConnectorError,
  entitlement,
  grant,
  pageOfArray,
  resourceId,
  resourceType,
  type CallContext,
  type Entitlement,
  type Grant,
  type PageRequest,
  type PageResult,
  type Resource,
  type ResourceId,
  type ResourceSyncer,
} from '@baton-ts/shared';
import type { LinkPageState } from '@baton-ts/shared/http';
import type { CeligoClient, Integration } from '../client.js';
import { INTEGRATION_LEVELS, type AccountIndex } from '../account-index.js';
import { PAGE_SIZE } from './common.js';
import { userType } from './user.js';

export const integrationType = resourceType({
  id: 'integration',
  displayName: 'Integration',
  traits: ['app'],
  description: 'A Celigo integration; users hold Manage or Monitor access to it',
});

export function toIntegrationResource(integration: Integration): Resource {
  const name = typeof integration.name === 'string' ? integration.name : '';
  const description = typeof integration.description === 'string' ? integration.description : '';
  const created = typeof integration.createdAt === 'string' ? new Date(integration.createdAt) : undefined;
  return appResource({
    type: integrationType,
    id: integration._id,
    displayName: name || integration._id,
    description: description || undefined,
    createdAt: created && !Number.isNaN(created.getTime()) ? created : undefined,
    // `name`, `id` and `description` are the Go connector's profile keys, with its values.
    profile: { name, id: integration._id, description, sandbox: integration.sandbox === true },
  });
}

const LEVEL_MEANING: Record<string, string> = {
  manage: 'can edit its flows, connections and settings',
  monitor: 'can view it, run its flows and retry or resolve errors, but cannot change it',
  administrator: 'has full access to it as an account administrator (through the account-wide Administrator role)',
};

export function integrationEntitlement(resource: Resource, level: string): Entitlement {
  const name = resource.displayName;
  const meaning = LEVEL_MEANING[level] ?? `holds the "${level}" access level Celigo reports`;
  return entitlement(resource, level, {
    // The Go connector's display names.
    displayName: `${name} access level ${level}`,
    description: `Has ${level} access to the ${name} integration: ${meaning}`,
    grantableTo: [userType],
    purpose: 'assignment',
  });
}

export function integrationSyncer(deps: { client: CeligoClient; accountIndex?: AccountIndex }): ResourceSyncer {
  const { client, accountIndex } = deps;
  const declaredLevels = () => accountIndex?.integrationLevels() ?? [...INTEGRATION_LEVELS];

  return {
    resourceType: integrationType,
    defaultPageSize: PAGE_SIZE,

    async list(_parent, page: PageRequest<LinkPageState>, ctx): Promise<PageResult<Resource, LinkPageState>> {
      const slice = await client.listIntegrations(page.state, page.size, ctx.signal);
      return { items: slice.items.map(toIntegrationResource), next: slice.next };
    },

    async get(id: ResourceId, _parent, ctx: CallContext) {
      const integration = await client.getIntegration(id.resource, ctx.signal);
      return integration ? toIntegrationResource(integration) : undefined;
    },

    async entitlements(resource, page: PageRequest<number>) {
      return pageOfArray(
        declaredLevels().map((level) => integrationEntitlement(resource, level)),
        page,
      );
    },

    async grants(resource, page: PageRequest<LinkPageState>, ctx): Promise<PageResult<Grant, LinkPageState>> {
      const integrationId = resource.id!.resource;
      let slice;
      try {
        slice = await client.listIntegrationAshares(integrationId, page.state, page.size, ctx.signal);
      } catch (err) {
        // Deleted since it was listed: it has no users left to report.
        if (err instanceof ConnectorError && err.code === Code.NotFound && page.state === undefined) {
          ctx.logger.info('celigo: integration no longer exists; no grants', { integrationId });
          return { items: [] };
        }
        throw err;
      }
      const declared = new Set(declaredLevels());
      const entitlements = new Map<string, Entitlement>();
      const items: Grant[] = [];
      for (const share of slice.items) {
        const level = share.accessLevel;
        if (typeof level !== 'string' || !declared.has(level)) {
          ctx.logger.warn('celigo: integration user with an access level that has no entitlement; no grant for it', {
            integrationId,
            user: share._id,
            accessLevel: typeof level === 'string' ? level : null,
          });
          continue;
        }
        let ent = entitlements.get(level);
        if (!ent) entitlements.set(level, (ent = integrationEntitlement(resource, level)));
        items.push(grant(ent, resourceId(userType, share._id)));
      }
      return { items, next: slice.next };
    },
  };
}
