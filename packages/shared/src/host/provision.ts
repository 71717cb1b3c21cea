/**
 * One-shot provisioning as the Go CLI sends it (baton-sdk v0.2.45 `pkg/provisioner`):
 *  - Grant: entitlement loaded from the sync file by id, principal by (type, id); the principal is sent as
 *    `{id, display_name, annotations, description, external_id}`, `parent_resource_id` deliberately left out;
 *  - Revoke: grant loaded by id, then its entitlement and principal; sends `{id, entitlement, principal (no parent),
 *    annotations}`;
 *  - CreateAccount: `{account_info: {emails: [{address, is_primary: true}] if given, login, profile?},
 *    credential_options: {random_password: {length: 20}}, resource_type_id?}`. Go also sends a fresh
 *    "baton/jwk/v1" encryption config; we send none (left for later: the connector then cannot return an
 *    encrypted password);
 *  - DeleteResource: `{resource_id}`; falls back to `ResourceDeleterService.DeleteResourceV2` when the connector
 *    answers UNIMPLEMENTED;
 *  - RotateCredential: `{resource_id, credential_options (random 20)}`.
 * Every result decodes the idempotency annotations (`GrantAlreadyExists`, `GrantAlreadyRevoked`,
 * `ResourceDoesNotExist`) into flags.
 */
import { create } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import {
  ResourceIdSchema,
  ResourceSchema,
  type CreateAccountResponse,
  type EncryptedData,
  type Resource,
} from '../gen/c1/connector/v2/resource_pb.js';
import { GrantAlreadyExistsSchema, GrantAlreadyRevokedSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import { ResourceDoesNotExistSchema } from '../gen/c1/connector/v2/annotation_resource_pb.js';
import { hasAnnotation } from '../sdk/annotations.js';
import { RpcError, type ConnectorClient } from './client.js';

type MaybePromise<T> = T | Promise<T>;

/** What provisioning needs from a store (satisfied by `c1z` `SyncStore`). */
export interface ProvisionStoreLike {
  getEntitlement(id: string): MaybePromise<Entitlement | undefined | null>;
  getResource(resourceTypeId: string, resourceId: string): MaybePromise<Resource | undefined | null>;
  getGrant(id: string): MaybePromise<Grant | undefined | null>;
}

export interface ProvisionFlags {
  /** `GrantAlreadyExists` in the response annotations (idempotent grant). */
  alreadyExists: boolean;
  /** `GrantAlreadyRevoked` in the response annotations (idempotent revoke). */
  alreadyRevoked: boolean;
  /** `ResourceDoesNotExist` in the response annotations (idempotent delete). */
  doesNotExist: boolean;
}

export interface ProvisionResult extends ProvisionFlags {
  annotations: Any[];
}

/** Something the one-shot flow needs is not in the sync file. */
export class ProvisionLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionLookupError';
  }
}

export function provisionFlags(annotations: readonly Any[] | undefined): ProvisionFlags {
  return {
    alreadyExists: hasAnnotation(annotations, GrantAlreadyExistsSchema),
    alreadyRevoked: hasAnnotation(annotations, GrantAlreadyRevokedSchema),
    doesNotExist: hasAnnotation(annotations, ResourceDoesNotExistSchema),
  };
}

function inFile(file: string | undefined): string {
  return file ? ` in ${file}` : ' in the sync file';
}

/** The principal as the Go provisioner sends it: no parent_resource_id. */
function principalForProvisioning(r: Resource): Resource {
  return create(ResourceSchema, {
    id: r.id,
    displayName: r.displayName,
    annotations: r.annotations,
    description: r.description,
    externalId: r.externalId,
  });
}

// -- Grant ------------------------------------------------------------------------------------------------------

export interface GrantEntitlementArgs {
  entitlementId: string;
  principalType: string;
  principalId: string;
  /** Path of the sync file, for error messages. */
  file?: string;
}

export interface GrantEntitlementResult extends ProvisionResult {
  grants: Grant[];
}

export async function grantEntitlement(
  client: ConnectorClient,
  store: ProvisionStoreLike,
  args: GrantEntitlementArgs,
): Promise<GrantEntitlementResult> {
  const entitlement = await store.getEntitlement(args.entitlementId);
  if (!entitlement) {
    throw new ProvisionLookupError(
      `entitlement "${args.entitlementId}" not found${inFile(args.file)}; run a sync first`,
    );
  }
  const principal = await store.getResource(args.principalType, args.principalId);
  if (!principal) {
    throw new ProvisionLookupError(
      `principal ${args.principalType}:${args.principalId} (type "${args.principalType}", id "${args.principalId}") not found${inFile(args.file)}`,
    );
  }
  const resp = await client.grant({ entitlement, principal: principalForProvisioning(principal) });
  return { grants: resp.grants, annotations: resp.annotations, ...provisionFlags(resp.annotations) };
}

// -- Revoke -----------------------------------------------------------------------------------------------------

export async function revokeGrant(
  client: ConnectorClient,
  store: ProvisionStoreLike,
  grantId: string,
  options: { file?: string } = {},
): Promise<ProvisionResult> {
  const grant = await store.getGrant(grantId);
  if (!grant) throw new ProvisionLookupError(`grant "${grantId}" not found${inFile(options.file)}`);
  const entId = grant.entitlement?.id ?? '';
  const entitlement = (entId ? await store.getEntitlement(entId) : undefined) ?? grant.entitlement;
  if (!entitlement) {
    throw new ProvisionLookupError(`entitlement "${entId}" of grant "${grantId}" not found${inFile(options.file)}`);
  }
  const pid = grant.principal?.id;
  const principal = (pid ? await store.getResource(pid.resourceType, pid.resource) : undefined) ?? grant.principal;
  if (!principal) {
    throw new ProvisionLookupError(`principal of grant "${grantId}" not found${inFile(options.file)}`);
  }
  const resp = await client.revoke({
    grant: {
      id: grant.id,
      entitlement,
      principal: principalForProvisioning(principal),
      annotations: grant.annotations,
    },
  });
  return { annotations: resp.annotations, ...provisionFlags(resp.annotations) };
}

// -- CreateAccount ----------------------------------------------------------------------------------------------

export interface CreateAccountArgs {
  login: string;
  email?: string;
  /** JSON object sent as `account_info.profile` (HEAD `--create-account-profile`). */
  profile?: JsonObject;
  /** HEAD `--create-account-resource-type`. */
  resourceTypeId?: string;
}

export interface CreateAccountResult extends ProvisionResult {
  /** Which oneof the connector answered (`success`, `actionRequired`, `alreadyExists`, `inProgress`) or undefined. */
  result: CreateAccountResponse['result']['case'];
  resource?: Resource;
  /** Human-readable message of an ActionRequired result. */
  message?: string;
  encryptedData: EncryptedData[];
}

export const RANDOM_PASSWORD_LENGTH = 20n;

export async function createAccount(client: ConnectorClient, args: CreateAccountArgs): Promise<CreateAccountResult> {
  const resp = await client.createAccount({
    accountInfo: {
      login: args.login,
      emails: args.email ? [{ address: args.email, isPrimary: true }] : [],
      profile: args.profile,
    },
    credentialOptions: { options: { case: 'randomPassword', value: { length: RANDOM_PASSWORD_LENGTH } } },
    encryptionConfigs: [],
    resourceTypeId: args.resourceTypeId ?? '',
  });
  const r = resp.result;
  const flags = provisionFlags(resp.annotations);
  return {
    result: r.case,
    resource: r.value?.resource,
    message: r.case === 'actionRequired' ? r.value.message : undefined,
    encryptedData: resp.encryptedData,
    annotations: resp.annotations,
    ...flags,
    alreadyExists: flags.alreadyExists || r.case === 'alreadyExists',
  };
}

// -- DeleteResource ---------------------------------------------------------------------------------------------

export interface DeleteResourceArgs {
  resourceType: string;
  resourceId: string;
}

export interface DeleteResourceResult extends ProvisionResult {
  /** True when the V1 RPC was unimplemented and `DeleteResourceV2` answered. */
  usedV2: boolean;
}

export async function deleteResource(client: ConnectorClient, args: DeleteResourceArgs): Promise<DeleteResourceResult> {
  const resourceId = create(ResourceIdSchema, { resourceType: args.resourceType, resource: args.resourceId });
  try {
    const resp = await client.deleteResource({ resourceId });
    return { usedV2: false, annotations: resp.annotations, ...provisionFlags(resp.annotations) };
  } catch (err) {
    if (!(err instanceof RpcError) || err.code !== grpc.status.UNIMPLEMENTED) throw err;
  }
  const resp = await client.deleteResourceV2({ resourceId });
  return { usedV2: true, annotations: resp.annotations, ...provisionFlags(resp.annotations) };
}

// -- RotateCredential -------------------------------------------------------------------------------------------

export interface RotateCredentialResult extends ProvisionResult {
  encryptedData: EncryptedData[];
}

export async function rotateCredential(
  client: ConnectorClient,
  args: DeleteResourceArgs,
): Promise<RotateCredentialResult> {
  const resp = await client.rotateCredential({
    resourceId: { resourceType: args.resourceType, resource: args.resourceId },
    credentialOptions: { options: { case: 'randomPassword', value: { length: RANDOM_PASSWORD_LENGTH } } },
    encryptionConfigs: [],
  });
  return { encryptedData: resp.encryptedData, annotations: resp.annotations, ...provisionFlags(resp.annotations) };
}
