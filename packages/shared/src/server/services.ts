/**
 * The c1.connector.v2 services, implemented once for every connector on top of its ResourceSyncers.
 * This is where page tokens are encoded, provisioning is gated, and outcomes become Baton's annotations.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ConnectError, type ServiceImpl, type HandlerContext } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ConnectorService } from '../gen/c1/connector/v2/connector_pb.js';
import {
  AccountManagerService,
  CreateAccountResponseSchema,
  CredentialManagerService,
  ResourceDeleterService,
  ResourceGetterService,
  ResourceManagerService,
  ResourceTypesService,
  ResourcesService,
  type Resource,
  type ResourceId,
} from '../gen/c1/connector/v2/resource_pb.js';
import { EntitlementsService } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantManagerService, GrantsService } from '../gen/c1/connector/v2/grant_pb.js';
import { AssetService } from '../gen/c1/connector/v2/asset_pb.js';
import { GrantAlreadyExistsSchema, GrantAlreadyRevokedSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import { ResourceDoesNotExistSchema } from '../gen/c1/connector/v2/annotation_resource_pb.js';
import type { CallContext, Connector, ConnectorDefinition, ResourceSyncer } from '../sdk/connector.js';
import { annotation } from '../sdk/annotations.js';
import { decodePageToken, encodePageToken } from '../sdk/pagination.js';
import {
  ConnectorError,
  Code,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  unimplemented,
} from '../sdk/errors.js';
import type { Logger } from '../log/logger.js';
import { connectorMetadata } from './capabilities.js';
import { asConfigurationCheck } from '../http/config-check.js';

/** The SDK generation whose wire behaviour we match; >= 0.4.3 makes newer hosts send active_sync_id. */
export const COMPATIBLE_SDK_VERSION = 'v0.7.27';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 250;

export interface ServiceOptions {
  definition: ConnectorDefinition;
  connector: Connector;
  logger: Logger;
  /** Provisioning services answer FAILED_PRECONDITION unless this is on (`--provisioning`). */
  provisioning: boolean;
  /**
   * The process serves one provisioning call of the CLI's one-shot mode, for a person at a terminal, not a host: an
   * API that cannot be reached (DNS, refused, TLS) during the call is a configuration mistake, reported at once with
   * the flag to check, as during Validate, instead of after the retries a host's call gets (docs/cli.md).
   */
  oneShot?: boolean;
}

/** Every c1.connector.v2 service, ready for `router.service(service, impl)`. */
export function connectorServices(options: ServiceOptions) {
  const { connector, logger } = options;
  const syncers = new Map<string, ResourceSyncer>(connector.syncers.map((s) => [s.resourceType.id, s]));
  const ctxOf = (handler: HandlerContext, syncId?: string): CallContext => ({
    signal: handler.signal,
    logger,
    syncId: syncId || undefined,
  });

  const syncerFor = (typeId: string | undefined, what: string): ResourceSyncer => {
    const syncer = typeId ? syncers.get(typeId) : undefined;
    if (!syncer) throw notFound(`error: ${what} with unknown resource type ${typeId ?? ''}`);
    return syncer;
  };
  /** Runs a provisioning call; in one-shot mode as a configuration check (see `oneShot`). */
  const provision = <T>(call: () => Promise<T>): Promise<T> => (options.oneShot ? asConfigurationCheck(call) : call());
  const requireProvisioning = () => {
    if (!options.provisioning) throw failedPrecondition('provisioning is not enabled');
  };
  const pageSize = (requested: number, syncer: ResourceSyncer) =>
    Math.min(MAX_PAGE_SIZE, requested || syncer.defaultPageSize || DEFAULT_PAGE_SIZE);
  /** Encodes the next state and refuses a token equal to the one we were given (a connector bug). */
  const nextToken = (requestToken: string, next: unknown): string => {
    const token = encodePageToken(next);
    if (token !== '' && token === requestToken) {
      throw internal('next page token unchanged - likely a connector bug');
    }
    return token;
  };

  /** ListEntitlements and ListGrants: one page of what the resource's syncer returns for it. */
  const listForResource = async <K extends 'entitlements' | 'grants'>(
    kind: K,
    req: { resource?: Resource; pageToken: string; pageSize: number; activeSyncId: string },
    handler: HandlerContext,
  ) => {
    if (!req.resource?.id) throw invalidArgument(`error: list ${kind} requires a resource`);
    const syncer = syncerFor(req.resource.id.resourceType, `list ${kind}`);
    const page = await syncer[kind](
      req.resource,
      { state: decodePageToken(req.pageToken), size: pageSize(req.pageSize, syncer) },
      ctxOf(handler, req.activeSyncId),
    );
    return {
      list: page.items as Awaited<ReturnType<ResourceSyncer[K]>>['items'],
      nextPageToken: nextToken(req.pageToken, page.next),
      annotations: page.annotations ?? [],
    };
  };

  const connectorService: ServiceImpl<typeof ConnectorService> = {
    getMetadata() {
      return { metadata: connectorMetadata(options.definition, connector) };
    },
    async validate(_req, handler) {
      // A wrong endpoint (DNS, refused, TLS) fails at once here instead of being retried (http/config-check.ts).
      await asConfigurationCheck(() => connector.validate(ctxOf(handler)));
      return { sdkVersion: COMPATIBLE_SDK_VERSION };
    },
    async cleanup() {
      await connector.cleanup?.();
      return {};
    },
  };

  const resourceTypesService: ServiceImpl<typeof ResourceTypesService> = {
    listResourceTypes() {
      // A handful of types: always one page, whatever token the host sends back.
      return { list: connector.syncers.map((s) => s.resourceType) };
    },
  };

  const resourcesService: ServiceImpl<typeof ResourcesService> = {
    async listResources(req, handler) {
      const syncer = syncerFor(req.resourceTypeId, 'list resources');
      const parent = req.parentResourceId;
      if (syncer.childOnly && !parent) return { list: [] };
      const page = await syncer.list(
        parent,
        { state: decodePageToken(req.pageToken), size: pageSize(req.pageSize, syncer) },
        ctxOf(handler, req.activeSyncId),
      );
      const list = parent ? page.items.map((r) => withParent(r, parent)) : page.items;
      return { list, nextPageToken: nextToken(req.pageToken, page.next), annotations: page.annotations ?? [] };
    },
  };

  const resourceGetterService: ServiceImpl<typeof ResourceGetterService> = {
    async getResource(req, handler) {
      const id = requireResourceId(req.resourceId, 'resource_id');
      const syncer = syncerFor(id.resourceType, 'get resource');
      if (!syncer.get) throw unimplemented(`resource type ${id.resourceType} does not support getting one resource`);
      const resource = await syncer.get(id, req.parentResourceId, ctxOf(handler, req.activeSyncId));
      if (!resource) throw notFound(`resource ${id.resourceType}:${id.resource} not found`);
      return { resource };
    },
  };

  const entitlementsService: ServiceImpl<typeof EntitlementsService> = {
    listEntitlements: (req, handler) => listForResource('entitlements', req, handler),
    listStaticEntitlements() {
      // Our connectors emit every entitlement per resource, so there are no type-wide templates.
      return { list: [] };
    },
  };

  const grantsService: ServiceImpl<typeof GrantsService> = {
    listGrants: (req, handler) => listForResource('grants', req, handler),
  };

  const grantManagerService: ServiceImpl<typeof GrantManagerService> = {
    async grant(req, handler) {
      requireProvisioning();
      const entitlement = req.entitlement!;
      const principal = req.principal!;
      requireResourceId(entitlement.resource?.id, 'entitlement.resource.id');
      requireResourceId(principal.id, 'principal.id');
      const syncer = syncerFor(entitlement.resource!.id!.resourceType, 'grant');
      if (!syncer.grant) throw unimplemented('resource type does not have provisioner configured');
      const outcome = await provision(() => syncer.grant!(principal, entitlement, ctxOf(handler)));
      const annotations = [...(outcome.annotations ?? [])];
      if (outcome.alreadyExists) annotations.push(annotation(GrantAlreadyExistsSchema));
      return { annotations, grants: outcome.grants ?? [] };
    },
    async revoke(req, handler) {
      requireProvisioning();
      const grant = req.grant!;
      requireResourceId(grant.entitlement?.resource?.id, 'grant.entitlement.resource.id');
      requireResourceId(grant.principal?.id, 'grant.principal.id');
      const syncer = syncerFor(grant.entitlement!.resource!.id!.resourceType, 'revoke');
      if (!syncer.revoke) throw unimplemented('resource type does not have provisioner configured');
      const outcome = await provision(() => syncer.revoke!(grant, ctxOf(handler)));
      const annotations = [...(outcome.annotations ?? [])];
      if (outcome.alreadyRevoked) annotations.push(annotation(GrantAlreadyRevokedSchema));
      return { annotations };
    },
  };

  const deleteResource = async (
    resourceId: ResourceId | undefined,
    parent: ResourceId | undefined,
    handler: HandlerContext,
  ) => {
    requireProvisioning();
    const id = requireResourceId(resourceId, 'resource_id');
    const syncer = syncerFor(id.resourceType, 'delete resource');
    if (!syncer.delete) throw unimplemented('resource type does not have resource manager configured');
    const outcome = await provision(() => syncer.delete!(id, parent, ctxOf(handler)));
    const annotations = [...(outcome.annotations ?? [])];
    if (outcome.alreadyDeleted) annotations.push(annotation(ResourceDoesNotExistSchema));
    return { annotations };
  };

  const resourceManagerService: ServiceImpl<typeof ResourceManagerService> = {
    async createResource(req, handler) {
      requireProvisioning();
      if (!req.resource) throw invalidArgument('invalid CreateResourceRequest.Resource: value is required');
      const id = requireResourceId(req.resource.id, 'resource.id');
      const syncer = syncerFor(id.resourceType, 'create resource');
      if (!syncer.create) throw unimplemented('resource type does not have resource manager configured');
      return { created: await provision(() => syncer.create!(req.resource!, ctxOf(handler))) };
    },
    deleteResource: (req, handler) => deleteResource(req.resourceId, req.parentResourceId, handler),
  };

  const resourceDeleterService: ServiceImpl<typeof ResourceDeleterService> = {
    deleteResourceV2: (req, handler) => deleteResource(req.resourceId, req.parentResourceId, handler),
  };

  const accountManagerService: ServiceImpl<typeof AccountManagerService> = {
    async createAccount(req, handler) {
      requireProvisioning();
      const manager = connector.accountManager;
      if (!manager) throw unimplemented('connector does not have credential manager configured');
      if (req.resourceTypeId && req.resourceTypeId !== manager.resourceTypeId) {
        throw invalidArgument(`accounts can only be created as resource type ${manager.resourceTypeId}`);
      }
      if (!req.accountInfo) throw invalidArgument('invalid CreateAccountRequest.AccountInfo: value is required');
      const accountInfo = req.accountInfo;
      const outcome = await provision(() =>
        manager.createAccount(accountInfo, req.credentialOptions, req.encryptionConfigs, ctxOf(handler)),
      );
      const response: MessageInitShape<typeof CreateAccountResponseSchema> = {
        annotations: outcome.annotations ?? [],
        encryptedData: 'encryptedData' in outcome ? (outcome.encryptedData ?? []) : [],
      };
      switch (outcome.kind) {
        case 'success':
          response.result = {
            case: 'success',
            value: {
              resource: outcome.resource,
              isCreateAccountResult: true,
              invitationExpiresAt: outcome.invitationExpiresAt
                ? timestampFromDate(outcome.invitationExpiresAt)
                : undefined,
            },
          };
          break;
        case 'actionRequired':
          response.result = {
            case: 'actionRequired',
            value: { resource: outcome.resource, message: outcome.message, isCreateAccountResult: true },
          };
          break;
        case 'alreadyExists':
          response.result = {
            case: 'alreadyExists',
            value: { resource: outcome.resource, isCreateAccountResult: true },
          };
          break;
        case 'inProgress':
          response.result = { case: 'inProgress', value: { resource: outcome.resource, isCreateAccountResult: true } };
          break;
      }
      return create(CreateAccountResponseSchema, response);
    },
  };

  const credentialManagerService: ServiceImpl<typeof CredentialManagerService> = {
    rotateCredential() {
      requireProvisioning();
      throw unimplemented('resource type does not have credential manager configured');
    },
    issueCredential() {
      requireProvisioning();
      throw unimplemented('resource type does not have credential manager configured');
    },
  };

  const assetService: ServiceImpl<typeof AssetService> = {
    // Streaming errors surface after the interceptors returned, so this one is a ConnectError already.

    async *getAsset(req) {
      throw new ConnectError(`asset ${req.asset?.id ?? ''} not found`, Code.NotFound);
    },
  };

  return [
    [ConnectorService, connectorService],
    [ResourceTypesService, resourceTypesService],
    [ResourcesService, resourcesService],
    [ResourceGetterService, resourceGetterService],
    [EntitlementsService, entitlementsService],
    [GrantsService, grantsService],
    [GrantManagerService, grantManagerService],
    [ResourceManagerService, resourceManagerService],
    [ResourceDeleterService, resourceDeleterService],
    [AccountManagerService, accountManagerService],
    [CredentialManagerService, credentialManagerService],
    [AssetService, assetService],
  ] as const;
}

function requireResourceId(id: ResourceId | undefined, field: string): ResourceId {
  if (!id || !id.resourceType || !id.resource) {
    throw new ConnectorError(Code.InvalidArgument, `${field} must name a resource type and a resource id`);
  }
  return id;
}

function withParent(resource: Resource, parent: ResourceId): Resource {
  return resource.parentResourceId ? resource : { ...resource, parentResourceId: parent };
}
