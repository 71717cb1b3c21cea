/**
 * Records of the simulated Celigo account, in the shapes the API returns (docs/apis/celigo.md). Optional fields are
 * absent from the JSON when undefined, as in Celigo's answers (e.g. `accessLevel` of an integration-only user).
 */

export type AccessLevel = 'administrator' | 'manage' | 'monitor';
export const ACCESS_LEVELS: readonly AccessLevel[] = ['administrator', 'manage', 'monitor'];

/** Per-integration levels a share can grant. */
export type IntegrationLevel = 'manage' | 'monitor';
export const INTEGRATION_LEVELS: readonly IntegrationLevel[] = ['manage', 'monitor'];

export interface IntegrationAccessRecord {
  _integrationId: string;
  accessLevel: IntegrationLevel;
}

/** The person behind a share (read-only through the shares API). */
export interface PersonRecord {
  _id: string;
  email: string;
  name?: string;
  allowedToResetMFA?: boolean;
  accountSSOLinked?: 'not_linked' | 'this_account' | 'other_account';
  lastSignIn?: string;
}

/** An account share ("ashare"): one user's access to the account. */
export interface AshareRecord {
  _id: string;
  accepted: boolean;
  dismissed?: boolean;
  disabled?: boolean;
  /** Absent for integration-only ("tile") users. */
  accessLevel?: AccessLevel;
  integrationAccessLevel: IntegrationAccessRecord[];
  accountSSORequired: boolean;
  accountMFARequired?: boolean;
  allowToEditRetryData?: boolean;
  allowAccessToAPIM?: boolean;
  createdAt: string;
  lastModified: string;
  lastSignIn?: string;
  sharedWithUser: PersonRecord;
}

export interface IntegrationRecord {
  _id: string;
  name: string;
  /** Absent on some integrations. */
  description?: string;
  sandbox: boolean;
  createdAt: string;
  lastModified: string;
  install: unknown[];
  flowGroupings: unknown[];
}

/** A PUT body as it arrived, for tests that assert what a client sent. */
export interface RecordedPut {
  id: string;
  /** The raw request body text. */
  raw: string;
  status: number;
}
