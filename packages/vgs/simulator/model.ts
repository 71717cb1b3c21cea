/** The simulator's records: what a VGS organization holds, in the API's own vocabulary (snake_case on the wire). */

export type OrgRole = 'admin' | 'user';
export type VaultRole = 'read' | 'write' | 'admin';

export interface OrganizationRecord {
  id: string;
  /** `internal_id` on the wire. */
  internalId: string;
  name: string;
  state: string;
  createdAt: string;
  updatedAt: string;
}

/** A person in an organization (service accounts are `ServiceAccountRecord`s). */
export interface MemberRecord {
  id: string;
  orgId: string;
  name: string;
  email: string;
  role: OrgRole;
  createdAt: string;
  updatedAt: string;
  lastLogin?: string;
  ssoId?: string;
}

/** A service account: credentials for the token endpoint, and a technical user `<clientId>@vgs.dev`. */
export interface ServiceAccountRecord {
  clientId: string;
  clientSecret: string;
  orgId: string;
  /** Further organizations the account may read (a simulator convenience, so tokens see several organizations). */
  extraOrgIds: string[];
  name: string;
  /** The technical user's id, as vault member lists show it. */
  memberId: string;
  scopes: string[];
  /** Token lifetime in seconds for this account (VGS: `access_token_lifespan`); default: the simulator's. */
  accessTokenLifespan?: number;
  createdAt: string;
}

export interface InviteRecord {
  /** `invite_id`: what the connector identifies invitations by. */
  inviteId: string;
  /** The top-level JSON:API id (a different value, as in the API). */
  id: string;
  orgId: string;
  email: string;
  invitedBy: string;
  role: OrgRole;
  createdAt: string;
  /** A status VGS reports whatever the date says (e.g. a PENDING it has not updated yet); else computed. */
  statusOverride?: string;
  vaults: Array<{ id: string; role: VaultRole }>;
}

export interface VaultRecord {
  /** Internal id (`data[].id`); the API paths use `identifier`. */
  id: string;
  identifier: string;
  orgId: string;
  name: string;
  environment: string;
  createdAt: string;
  updatedAt: string;
}

/** Everything a simulator starts with. `vaultMembers` are [vault identifier, member id (user or service account), role]. */
export interface VgsData {
  organizations: OrganizationRecord[];
  members: MemberRecord[];
  serviceAccounts: ServiceAccountRecord[];
  invites: InviteRecord[];
  vaults: VaultRecord[];
  vaultMembers: Array<[identifier: string, memberId: string, role: VaultRole]>;
}
