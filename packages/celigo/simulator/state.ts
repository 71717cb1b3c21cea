import type { Clock } from '@baton-ts/shared/simulator';

import { objectId } from './ids.js';
import {
  ACCESS_LEVELS,
  INTEGRATION_LEVELS,
  type AccessLevel,
  type AshareRecord,
  type IntegrationAccessRecord,
  type IntegrationLevel,
  type IntegrationRecord,
  type PersonRecord,
} from './model.js';

/** Initial contents of an account. */
export interface CeligoData {
  /** The account owner: has no share, so no list shows it. */
  owner: PersonRecord;
  shares: AshareRecord[];
  integrations: IntegrationRecord[];
}

/** A Celigo error, answered as `{"errors":[{code, message, field?}]}`. */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  field?: string;
}

export type Outcome<T = undefined> = { ok: true; value: T } | { ok: false; error: ApiError };

/** A user as an integration's user list shows it: with the level they hold on that integration. */
export interface IntegrationUser {
  share: AshareRecord;
  /** An `AccessLevel`; a level this simulator does not know (test data for a future Celigo level) passes through. */
  level: string;
}

/** Writable boolean flags: a PUT that omits one sets it to false. */
const FLAGS = [
  'disabled',
  'accountSSORequired',
  'accountMFARequired',
  'allowToEditRetryData',
  'allowAccessToAPIM',
] as const satisfies ReadonlyArray<keyof AshareRecord>;

const fail = (status: number, code: string, message: string, field?: string): { ok: false; error: ApiError } => ({
  ok: false,
  error: { status, code, message, ...(field ? { field } : {}) },
});

/**
 * The account's mutable contents. Lists keep creation order (`_id` order), which is the order the API pages them in.
 */
export class CeligoState {
  readonly owner: PersonRecord;
  private shares: AshareRecord[];
  private readonly sharesById = new Map<string, AshareRecord>();
  private readonly integrations: IntegrationRecord[];
  private readonly integrationsById = new Map<string, IntegrationRecord>();
  private nextShareN: number;
  private userLists: { shares: readonly AshareRecord[]; lists: Map<string, IntegrationUser[]> } | undefined;

  constructor(
    data: CeligoData,
    private readonly clock: Clock = Date.now,
  ) {
    this.owner = data.owner;
    this.shares = [...data.shares].sort((a, b) => (a._id < b._id ? -1 : 1));
    for (const s of this.shares) this.sharesById.set(s._id, s);
    this.integrations = [...data.integrations].sort((a, b) => (a._id < b._id ? -1 : 1));
    for (const i of this.integrations) this.integrationsById.set(i._id, i);
    this.nextShareN = this.shares.length + 1_000_001;
  }

  // ---- reads ----

  listShares(): readonly AshareRecord[] {
    return this.shares;
  }

  getShare(id: string): AshareRecord | undefined {
    return this.sharesById.get(id);
  }

  listIntegrations(): readonly IntegrationRecord[] {
    return this.integrations;
  }

  getIntegration(id: string): IntegrationRecord | undefined {
    return this.integrationsById.get(id);
  }

  /**
   * Who an integration's user list shows, and at which level, the way Celigo's own UI derives it: account
   * administrators as `administrator`, account-wide `manage` as `manage`, account-wide `monitor` as `monitor` unless
   * a per-integration entry raises it to `manage`, and integration-only users at their entry's level (any other
   * account-wide level, which only test data has, is shown as is). Declined
   * invitations give no access and are left out; the owner has no share and is not shown. Undefined for an unknown
   * integration.
   */
  integrationUsers(integrationId: string): IntegrationUser[] | undefined {
    if (!this.integrationsById.has(integrationId)) return undefined;
    return [...(this.integrationUserLists().get(integrationId) ?? [])];
  }

  /**
   * Every integration's user list, from one pass over the shares (a pass per request made a 1,000-integration
   * account cost the simulator seconds of CPU per sync). Kept until a share changes: every write replaces `shares`.
   */
  private integrationUserLists(): ReadonlyMap<string, IntegrationUser[]> {
    if (this.userLists?.shares === this.shares) return this.userLists.lists;
    const lists = new Map<string, IntegrationUser[]>(this.integrations.map((i) => [i._id, []]));
    for (const share of this.shares) {
      if (share.dismissed) continue;
      // The first entry for an integration counts, as Celigo reads them.
      const entries = new Map<string, string | undefined>();
      for (const e of share.integrationAccessLevel) {
        if (!entries.has(e._integrationId)) entries.set(e._integrationId, e.accessLevel);
      }
      if (share.accessLevel) {
        for (const [id, list] of lists) {
          const level =
            share.accessLevel === 'monitor' ? (entries.get(id) === 'manage' ? 'manage' : 'monitor') : share.accessLevel;
          list.push({ share, level });
        }
      } else {
        for (const [id, level] of entries) if (level) lists.get(id)?.push({ share, level });
      }
    }
    this.userLists = { shares: this.shares, lists };
    return lists;
  }

  /** Total rows of every integration's user list (what a full sync reads for integration grants). */
  integrationUserCount(): number {
    return this.integrations.reduce((n, i) => n + this.integrationUsers(i._id)!.length, 0);
  }

  // ---- writes ----

  /**
   * `PUT /v1/ashares/{id}`: the body replaces the share. Writable fields the body omits are cleared: no access level,
   * no per-integration access, every flag false (`disabled` included, so a careless PUT re-enables a disabled user).
   * Fields Celigo computes (`_id`, `accepted`, `dismissed`, dates) and the person's own (`sharedWithUser`: name,
   * email) are ignored; `userType` is refused with 400; other unknown fields are ignored.
   */
  replaceShare(id: string, body: unknown): Outcome<AshareRecord> {
    const share = this.sharesById.get(id);
    if (!share) return fail(404, 'not_found', `Object not found: no user with _id ${id} in this account.`);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(400, 'invalid_body', 'The request body must be a JSON object.');
    }
    const input = body as Record<string, unknown>;
    if ('userType' in input) return fail(400, 'invalid_field', 'userType is read-only.', 'userType');
    const access = this.parseAccess(input.accessLevel, input.integrationAccessLevel);
    if (!access.ok) return access;
    for (const flag of FLAGS) {
      const value = input[flag];
      if (value !== undefined && value !== null && typeof value !== 'boolean') {
        return fail(422, 'invalid_field', `${flag} must be a boolean.`, flag);
      }
    }

    const next: AshareRecord = {
      _id: share._id,
      accepted: share.accepted,
      ...(share.dismissed !== undefined ? { dismissed: share.dismissed } : {}),
      ...(access.value.accessLevel ? { accessLevel: access.value.accessLevel } : {}),
      integrationAccessLevel: access.value.integrationAccessLevel,
      accountSSORequired: false,
      createdAt: share.createdAt,
      lastModified: new Date(this.clock()).toISOString(),
      ...(share.lastSignIn !== undefined ? { lastSignIn: share.lastSignIn } : {}),
      sharedWithUser: share.sharedWithUser,
    };
    for (const flag of FLAGS) next[flag] = input[flag] === true;
    this.store(next);
    return { ok: true, value: next };
  }

  /** `PUT /v1/ashares/{id}/disable`: toggles `disabled`; only for accepted invitations. */
  toggleDisabled(id: string): Outcome<AshareRecord> {
    const share = this.sharesById.get(id);
    if (!share) return fail(404, 'not_found', `Object not found: no user with _id ${id} in this account.`);
    if (!share.accepted)
      return fail(400, 'invalid_request', 'Only users who accepted their invitation can be disabled.');
    const next = { ...share, disabled: !share.disabled, lastModified: new Date(this.clock()).toISOString() };
    this.store(next);
    return { ok: true, value: next };
  }

  deleteShare(id: string): boolean {
    if (!this.sharesById.delete(id)) return false;
    this.shares = this.shares.filter((s) => s._id !== id);
    return true;
  }

  /** `POST /v1/invite`: a pending share for `email`; 409 when the person already has one. */
  invite(body: unknown): Outcome<AshareRecord> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(400, 'invalid_body', 'The request body must be a JSON object.');
    }
    const input = body as Record<string, unknown>;
    const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
      return fail(422, 'invalid_field', 'A valid email is required.', 'email');
    if (
      email === this.owner.email.toLowerCase() ||
      this.shares.some((s) => s.sharedWithUser?.email?.toLowerCase() === email)
    ) {
      return fail(409, 'already_exists', `${email} already has access to this account.`);
    }
    const access = this.parseAccess(input.accessLevel, input.integrationAccessLevel);
    if (!access.ok) return access;
    const n = this.nextShareN++;
    const now = new Date(this.clock()).toISOString();
    const epoch = Math.floor(this.clock() / 1000);
    const share: AshareRecord = {
      _id: objectId('share', n, epoch),
      accepted: false,
      ...(access.value.accessLevel ? { accessLevel: access.value.accessLevel } : {}),
      integrationAccessLevel: access.value.integrationAccessLevel,
      accountSSORequired: input.accountSSORequired === true,
      accountMFARequired: input.accountMFARequired === true,
      allowToEditRetryData: input.allowToEditRetryData === true,
      createdAt: now,
      lastModified: now,
      sharedWithUser: { _id: objectId('person', n, epoch), email, accountSSOLinked: 'not_linked' },
    };
    this.store(share);
    return { ok: true, value: share };
  }

  private parseAccess(
    accessLevel: unknown,
    integrationAccessLevel: unknown,
  ): Outcome<{ accessLevel?: AccessLevel; integrationAccessLevel: IntegrationAccessRecord[] }> {
    let level: AccessLevel | undefined;
    if (accessLevel !== undefined && accessLevel !== null && accessLevel !== '') {
      if (typeof accessLevel !== 'string' || !(ACCESS_LEVELS as readonly string[]).includes(accessLevel)) {
        return fail(
          422,
          'invalid_field',
          `accessLevel must be one of ${ACCESS_LEVELS.join(', ')}; got ${JSON.stringify(accessLevel)}.`,
          'accessLevel',
        );
      }
      level = accessLevel as AccessLevel;
    }
    const entries: IntegrationAccessRecord[] = [];
    if (integrationAccessLevel !== undefined && integrationAccessLevel !== null) {
      if (!Array.isArray(integrationAccessLevel)) {
        return fail(422, 'invalid_field', 'integrationAccessLevel must be an array.', 'integrationAccessLevel');
      }
      for (const raw of integrationAccessLevel as unknown[]) {
        const entry = (raw ?? {}) as Record<string, unknown>;
        const id = entry._integrationId;
        if (typeof id !== 'string' || !this.integrationsById.has(id)) {
          return fail(
            422,
            'invalid_ref',
            `Unknown integration ${JSON.stringify(id)} in integrationAccessLevel.`,
            'integrationAccessLevel',
          );
        }
        if (!(INTEGRATION_LEVELS as readonly unknown[]).includes(entry.accessLevel)) {
          return fail(
            422,
            'invalid_field',
            `integrationAccessLevel[].accessLevel must be manage or monitor; got ${JSON.stringify(entry.accessLevel)}.`,
            'integrationAccessLevel',
          );
        }
        entries.push({ _integrationId: id, accessLevel: entry.accessLevel as IntegrationLevel });
      }
    }
    if (!level && entries.length === 0) {
      return fail(
        422,
        'invalid_field',
        'Either accessLevel or a non-empty integrationAccessLevel is required: the user would have no access.',
        'accessLevel',
      );
    }
    return { ok: true, value: { accessLevel: level, integrationAccessLevel: entries } };
  }

  private store(share: AshareRecord): void {
    const existing = this.sharesById.has(share._id);
    this.sharesById.set(share._id, share);
    if (existing) this.shares = this.shares.map((s) => (s._id === share._id ? share : s));
    else this.shares = [...this.shares, share].sort((a, b) => (a._id < b._id ? -1 : 1));
  }
}
