/**
 * Builders for resource types and resources. They apply Baton's conventions so connector code stays short:
 * lowercase type ids, trait annotations on every resource, profile/status/created_at on both the Resource
 * (newer hosts) and the trait (older hosts), and field limits that hosts enforce.
 */
import { create, type DescMessage, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { anyPack, timestampFromDate, type Any } from '@bufbuild/protobuf/wkt';
import {
  ResourceIdSchema,
  ResourceSchema,
  ResourceTypeSchema,
  ResourceType_Trait,
  StatusSchema,
  Status_ResourceStatus,
  type Resource,
  type ResourceId,
  type ResourceType,
} from '../gen/c1/connector/v2/resource_pb.js';
import {
  AppTraitSchema,
  GroupTraitSchema,
  RoleTraitSchema,
  SecretTraitSchema,
  UserTraitSchema,
  UserTrait_AccountType,
  UserTrait_EmailSchema,
  UserTrait_MFAStatusSchema,
  UserTrait_SSOStatusSchema,
  UserTrait_StatusSchema,
  UserTrait_StructuredNameSchema,
  UserTrait_Status_Status,
} from '../gen/c1/connector/v2/annotation_trait_pb.js';
import {
  ChildResourceTypeSchema,
  SkipEntitlementsAndGrantsSchema,
  SkipEntitlementsSchema,
  SkipGrantsSchema,
} from '../gen/c1/connector/v2/annotation_resource_tree_pb.js';
import { ExternalLinkSchema } from '../gen/c1/connector/v2/annotation_external_link_pb.js';
import { annotation, findAnnotation } from './annotations.js';

export type { Resource, ResourceId, ResourceType };
export type Trait = 'user' | 'group' | 'role' | 'app' | 'secret';
export type ProfileInput = Record<string, JsonValue | undefined | Date>;

/**
 * Trait enum -> the annotation every resource of a type with that trait must carry (docs/protocol.md, "Annotations and traits"). Hosts check it on
 * every resource; the sync engine and the conformance kit use this one table.
 */
export const TRAIT_ANNOTATIONS: ReadonlyMap<ResourceType_Trait, DescMessage> = new Map<ResourceType_Trait, DescMessage>(
  [
    [ResourceType_Trait.USER, UserTraitSchema],
    [ResourceType_Trait.GROUP, GroupTraitSchema],
    [ResourceType_Trait.ROLE, RoleTraitSchema],
    [ResourceType_Trait.APP, AppTraitSchema],
    [ResourceType_Trait.SECRET, SecretTraitSchema],
  ],
);

const TRAITS: Record<Trait, ResourceType_Trait> = {
  user: ResourceType_Trait.USER,
  group: ResourceType_Trait.GROUP,
  role: ResourceType_Trait.ROLE,
  app: ResourceType_Trait.APP,
  secret: ResourceType_Trait.SECRET,
};

export interface ResourceTypeOptions {
  /** Lowercased, spaces become '-', as the Go SDK does. */
  id: string;
  displayName: string;
  traits?: Trait[];
  description?: string;
  /** The host lists no entitlements or grants for this type (e.g. users that only appear as principals). */
  skipEntitlementsAndGrants?: boolean;
  skipGrants?: boolean;
  skipEntitlements?: boolean;
  annotations?: Any[];
}

export function resourceType(options: ResourceTypeOptions): ResourceType {
  const annotations = [...(options.annotations ?? [])];
  if (options.skipEntitlementsAndGrants) annotations.push(annotation(SkipEntitlementsAndGrantsSchema));
  if (options.skipGrants) annotations.push(annotation(SkipGrantsSchema));
  if (options.skipEntitlements) annotations.push(annotation(SkipEntitlementsSchema));
  return create(ResourceTypeSchema, {
    id: options.id.toLowerCase().replace(/ /g, '-'),
    displayName: truncateBytes(options.displayName, 1024),
    traits: [...new Set(options.traits ?? [])].map((t) => TRAITS[t]),
    description: options.description ? truncateBytes(options.description, 4096) : '',
    annotations,
  });
}

export function resourceId(type: string | ResourceType, id: string): ResourceId {
  return create(ResourceIdSchema, { resourceType: typeof type === 'string' ? type : type.id, resource: id });
}

export type ResourceStatusName = 'enabled' | 'disabled' | 'deleted';

export interface ResourceOptions {
  type: string | ResourceType;
  id: string;
  displayName: string;
  description?: string;
  parent?: ResourceId;
  /** Resource types whose resources the host should list with this resource as their parent. */
  childTypes?: string[];
  /** Deep link into the application; must be https:// (hosts validate it), anything else is dropped. */
  externalLink?: string;
  profile?: ProfileInput;
  status?: ResourceStatusName;
  statusDetails?: string;
  createdAt?: Date;
  annotations?: Any[];
}

/** A resource without a trait (e.g. a vault or an integration). */
export function resource(options: ResourceOptions): Resource {
  return buildResource(options, []);
}

export interface UserOptions extends ResourceOptions {
  /** The first address is primary unless one says otherwise. Addresses that are not emails are left out. */
  emails?: Array<string | { address: string; primary?: boolean }>;
  login?: string;
  loginAliases?: string[];
  accountType?: 'human' | 'service' | 'system';
  givenName?: string;
  familyName?: string;
  lastLogin?: Date;
  mfaEnabled?: boolean;
  ssoEnabled?: boolean;
  employeeIds?: string[];
}

export function userResource(options: UserOptions): Resource {
  const profile = toStruct(options.profile);
  const emails = (options.emails ?? [])
    .map((e) => (typeof e === 'string' ? { address: e, primary: undefined } : e))
    .filter((e) => isEmail(e.address));
  const anyPrimary = emails.some((e) => e.primary);
  const trait = create(UserTraitSchema, {
    emails: emails.map((e, i) =>
      create(UserTrait_EmailSchema, { address: e.address, isPrimary: anyPrimary ? !!e.primary : i === 0 }),
    ),
    status: create(UserTrait_StatusSchema, {
      status: USER_STATUS[options.status ?? 'enabled'],
      details: options.statusDetails ? truncateBytes(options.statusDetails, 1024) : '',
    }),
    profile,
    accountType: ACCOUNT_TYPE[options.accountType ?? 'human'],
    login: options.login ?? '',
    loginAliases: options.loginAliases ?? [],
    createdAt: options.createdAt ? timestampFromDate(options.createdAt) : undefined,
    lastLogin: options.lastLogin ? timestampFromDate(options.lastLogin) : undefined,
    mfaStatus:
      options.mfaEnabled === undefined
        ? undefined
        : create(UserTrait_MFAStatusSchema, { mfaEnabled: options.mfaEnabled }),
    ssoStatus:
      options.ssoEnabled === undefined
        ? undefined
        : create(UserTrait_SSOStatusSchema, { ssoEnabled: options.ssoEnabled }),
    structuredName:
      options.givenName || options.familyName
        ? create(UserTrait_StructuredNameSchema, {
            givenName: options.givenName ?? '',
            familyName: options.familyName ?? '',
          })
        : undefined,
    employeeIds: options.employeeIds ?? [],
  });
  return buildResource({ ...options, status: options.status ?? 'enabled' }, [anyPack(UserTraitSchema, trait)], profile);
}

export function groupResource(options: ResourceOptions): Resource {
  const profile = toStruct(options.profile);
  return buildResource(options, [anyPack(GroupTraitSchema, create(GroupTraitSchema, { profile }))], profile);
}

export function roleResource(options: ResourceOptions): Resource {
  const profile = toStruct(options.profile);
  return buildResource(options, [anyPack(RoleTraitSchema, create(RoleTraitSchema, { profile }))], profile);
}

export interface AppOptions extends ResourceOptions {
  helpUrl?: string;
}

export function appResource(options: AppOptions): Resource {
  const profile = toStruct(options.profile);
  const trait = create(AppTraitSchema, {
    profile,
    helpUrl: options.helpUrl && isHttpsUrl(options.helpUrl) ? options.helpUrl : '',
  });
  return buildResource(options, [anyPack(AppTraitSchema, trait)], profile);
}

const USER_STATUS: Record<ResourceStatusName, UserTrait_Status_Status> = {
  enabled: UserTrait_Status_Status.ENABLED,
  disabled: UserTrait_Status_Status.DISABLED,
  deleted: UserTrait_Status_Status.DELETED,
};
const RESOURCE_STATUS: Record<ResourceStatusName, Status_ResourceStatus> = {
  enabled: Status_ResourceStatus.ENABLED,
  disabled: Status_ResourceStatus.DISABLED,
  deleted: Status_ResourceStatus.DELETED,
};
const ACCOUNT_TYPE = {
  human: UserTrait_AccountType.HUMAN,
  service: UserTrait_AccountType.SERVICE,
  system: UserTrait_AccountType.SYSTEM,
} as const;

/** `profile` is the converted options.profile when the caller already has it (it is shared with the trait). */
function buildResource(
  options: ResourceOptions,
  traitAnnotations: Any[],
  profile = toStruct(options.profile),
): Resource {
  const annotations = [...traitAnnotations];
  for (const child of options.childTypes ?? []) {
    annotations.push(annotation(ChildResourceTypeSchema, { resourceTypeId: child }));
  }
  if (options.externalLink && isHttpsUrl(options.externalLink)) {
    annotations.push(annotation(ExternalLinkSchema, { url: options.externalLink }));
  }
  annotations.push(...(options.annotations ?? []));
  return create(ResourceSchema, {
    id: resourceId(options.type, options.id),
    parentResourceId: options.parent,
    displayName: truncateBytes(options.displayName, 1024),
    description: options.description ? truncateBytes(options.description, 2048) : '',
    annotations,
    profile,
    status: options.status
      ? create(StatusSchema, {
          status: RESOURCE_STATUS[options.status],
          details: options.statusDetails ? truncateBytes(options.statusDetails, 1024) : '',
        })
      : undefined,
    createdAt: options.createdAt ? timestampFromDate(options.createdAt) : undefined,
  });
}

/** Plain JSON for a google.protobuf.Struct field (protobuf-es holds Struct fields as JSON objects); undefined values are dropped and Dates become RFC 3339 strings. */
export function toStruct(input: ProfileInput | undefined): JsonObject | undefined {
  if (!input) return undefined;
  const json: JsonObject = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    json[key] = value instanceof Date ? value.toISOString() : value;
  }
  return json;
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(value: string, max: number): string {
  if (Buffer.byteLength(value, 'utf8') <= max) return value;
  let out = '';
  let size = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (size + n > max) break;
    out += ch;
    size += n;
  }
  return out;
}

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

export function isEmail(value: string | undefined): value is string {
  return !!value && value.length <= 254 && EMAIL_RE.test(value);
}

export function isHttpsUrl(value: string): boolean {
  if (!value.startsWith('https://') || Buffer.byteLength(value) > 1024) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The profile of a resource as the host handed it back: the Resource's own profile (newer hosts), else the one on its
 * trait annotation (older hosts keep only that). Lets provisioning code decide from stored data, without an API call.
 */
export function profileOf(resource: Resource | undefined): JsonObject | undefined {
  if (!resource) return undefined;
  if (resource.profile && Object.keys(resource.profile).length > 0) return resource.profile;
  for (const schema of [UserTraitSchema, GroupTraitSchema, RoleTraitSchema, AppTraitSchema] as const) {
    const trait = findAnnotation(resource.annotations, schema);
    if (trait?.profile) return trait.profile;
  }
  return undefined;
}

/** A string value from profileOf(); undefined when absent or not a string. */
export function profileString(resource: Resource | undefined, key: string): string | undefined {
  const value = profileOf(resource)?.[key];
  return typeof value === 'string' ? value : undefined;
}
