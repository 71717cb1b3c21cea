/**
 * What a connector author writes: a definition with metadata, a config schema, and a factory that returns one
 * ResourceSyncer per resource type. Everything about gRPC, page tokens, validation and output lives elsewhere.
 */
import type { z } from 'zod';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { Resource, ResourceId, ResourceType } from '../gen/c1/connector/v2/resource_pb.js';
import type {
  AccountInfo,
  CredentialOptions,
  EncryptedData,
  EncryptionConfig,
} from '../gen/c1/connector/v2/resource_pb.js';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import type { ConnectorAccountCreationSchema } from '../gen/c1/connector/v2/connector_pb.js';
import type { Logger } from '../log/logger.js';
import type { PageRequest, PageResult } from './pagination.js';
import type { RunningSimulator } from '../simulator/types.js';
import type { FaultConfig } from '../simulator/faults.js';

/** Per-call context handed to every connector method. */
export interface CallContext {
  signal: AbortSignal;
  logger: Logger;
  /**
   * The host's sync id (`active_sync_id`) when it sends one (newer hosts do, because Validate reports an SDK
   * version >= 0.4.3). Lets a connector scope a cache to one sync.
   */
  syncId?: string;
}

/** Counters the shared HTTP client keeps; the server reports them to our host in response headers. */
export interface RuntimeStats {
  apiRequests: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  retries: number;
}

export interface ConnectorRuntime {
  logger: Logger;
  stats: RuntimeStats;
}

export interface GrantOutcome {
  /** The principal already held the entitlement: answered with GrantAlreadyExists, nothing was changed. */
  alreadyExists?: boolean;
  grants?: Grant[];
  annotations?: Any[];
}

export interface RevokeOutcome {
  /** The principal did not hold the entitlement: answered with GrantAlreadyRevoked, nothing was changed. */
  alreadyRevoked?: boolean;
  annotations?: Any[];
}

export interface DeleteOutcome {
  /** The resource was already gone: answered with ResourceDoesNotExist. */
  alreadyDeleted?: boolean;
  annotations?: Any[];
}

/**
 * One resource type: how to list its resources, their entitlements and grants, and optionally how to change them.
 * Page state types are the syncer's own; the SDK turns them into opaque tokens.
 */
export interface ResourceSyncer {
  readonly resourceType: ResourceType;
  /** Page size used when the host does not ask for one (it never does). At most 250. */
  readonly defaultPageSize?: number;

  /**
   * Resources of this type. `parent` is set when the host lists children of a resource that carried a
   * ChildResourceType annotation; a type that only exists under parents should return nothing without one
   * (the server already answers an empty list for types declared `childOnly`).
   */
  list(
    parent: ResourceId | undefined,
    page: PageRequest<unknown>,
    ctx: CallContext,
  ): Promise<PageResult<Resource, unknown>>;
  entitlements(
    resource: Resource,
    page: PageRequest<unknown>,
    ctx: CallContext,
  ): Promise<PageResult<Entitlement, unknown>>;
  grants(resource: Resource, page: PageRequest<unknown>, ctx: CallContext): Promise<PageResult<Grant, unknown>>;

  /** Resources of this type are only listed under a parent. */
  readonly childOnly?: boolean;
  /** Fetches one resource (targeted syncs); NotFound when it does not exist. */
  get?(id: ResourceId, parent: ResourceId | undefined, ctx: CallContext): Promise<Resource | undefined>;

  grant?(principal: Resource, entitlement: Entitlement, ctx: CallContext): Promise<GrantOutcome>;
  revoke?(grant: Grant, ctx: CallContext): Promise<RevokeOutcome>;
  create?(resource: Resource, ctx: CallContext): Promise<Resource>;
  delete?(id: ResourceId, parent: ResourceId | undefined, ctx: CallContext): Promise<DeleteOutcome>;
}

export type CreateAccountOutcome =
  | {
      kind: 'success';
      resource: Resource;
      encryptedData?: EncryptedData[];
      annotations?: Any[];
      invitationExpiresAt?: Date;
    }
  | {
      kind: 'actionRequired';
      resource?: Resource;
      message: string;
      encryptedData?: EncryptedData[];
      annotations?: Any[];
    }
  | { kind: 'alreadyExists'; resource: Resource; annotations?: Any[] }
  | { kind: 'inProgress'; resource?: Resource; annotations?: Any[] };

export interface AccountManager {
  /** The resource type accounts are created as (the user type). */
  readonly resourceTypeId: string;
  /** Credential options this connector supports, for capabilities. */
  readonly credentialOptions: Array<'noPassword' | 'randomPassword' | 'sso' | 'encryptedPassword'>;
  readonly accountCreationSchema?: ConnectorAccountCreationSchema;
  createAccount(
    account: AccountInfo,
    credentials: CredentialOptions | undefined,
    encryption: EncryptionConfig[],
    ctx: CallContext,
  ): Promise<CreateAccountOutcome>;
}

/** A connector built from a validated config. */
export interface Connector {
  /** Checks credentials and reachability; throw a ConnectorError (Unauthenticated, PermissionDenied, ...) if not. */
  validate(ctx: CallContext): Promise<void>;
  readonly syncers: ResourceSyncer[];
  readonly accountManager?: AccountManager;
  /** Called by newer hosts after a sync is sealed, and when the process shuts down. */
  cleanup?(): Promise<void>;
}

export interface ConnectorMetadataInput {
  displayName: string;
  description?: string;
  helpUrl?: string;
}

/** How `--demo`, the `simulator` command and benchmarks start a bundled simulator; the same for every connector. */
export interface BundledSimulatorOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  /** One of `datasets` (default: the one marked default there). */
  dataset?: string;
  /** Every API request waits this long before it is answered (default 0; the benchmarks use 20). */
  latencyMs?: number;
  /**
   * `documented` (default): the limits the API documents, as described in the connector's docs/apis page (where
   * the API documents none, that page says what the simulator applies and why); `off`: no rate limit at all.
   */
  rateLimits?: 'documented' | 'off';
  /** Faults to inject (429s, 5xx, resets, slow or cut-short responses), by rule or probability. */
  faults?: FaultConfig;
}

/** A simulator bundled with the connector, for --demo and the `simulator` command. */
export interface BundledSimulator {
  start(options: BundledSimulatorOptions): Promise<RunningSimulator>;
  /** The datasets `--dataset` accepts, each with a line for `simulator --help` (say which is the default). */
  datasets?: ReadonlyArray<{ name: string; description?: string }>;
}

export interface ConnectorDefinition<Schema extends z.ZodObject = z.ZodObject> {
  /** Short name: the bin is `baton-<name>`. */
  name: string;
  /** Version reported to hosts (Validate.sdk_version is the SDK's, this is the connector's). */
  version: string;
  metadata: ConnectorMetadataInput;
  /**
   * Connector flags. Keys are camelCase (`apiKey` is `--api-key` and `BATON_API_KEY`). Use `.meta({ secret: true })`
   * for secrets and `.meta({ hidden: true })` for flags left out of help, and `.describe()` for help text.
   */
  config: Schema;
  /**
   * Config keys that decide which host the connector talks to, most specific first (e.g. `['baseUrl', 'domain']`).
   * When the API cannot be reached during Validate, the CLI names the first of them that is set ("check --base-url
   * (BATON_BASE_URL)"). Default: the fields whose names look like an endpoint (url, domain, host, endpoint,
   * subdomain, region, tenant).
   */
  endpointFields?: ReadonlyArray<keyof z.input<Schema> & string>;
  /** Builds the connector. Must not do I/O: `capabilities` builds it without talking to the API. */
  create(config: z.output<Schema>, runtime: ConnectorRuntime): Connector;
  /** Loaded lazily so production runs never import simulator code. */
  simulator?: () => Promise<BundledSimulator>;
}

export function defineConnector<Schema extends z.ZodObject>(
  definition: ConnectorDefinition<Schema>,
): ConnectorDefinition<Schema> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`connector name must be lowercase letters, digits and '-': ${definition.name}`);
  }
  return definition;
}

export function newRuntimeStats(): RuntimeStats {
  return { apiRequests: 0, rateLimitWaits: 0, rateLimitWaitMs: 0, retries: 0 };
}
