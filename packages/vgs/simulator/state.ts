import type { Clock } from '@baton-ts/shared/simulator';

import type {
  InviteRecord,
  MemberRecord,
  OrganizationRecord,
  OrgRole,
  ServiceAccountRecord,
  VaultRecord,
  VaultRole,
  VgsData,
} from './model.js';

/** VGS invitations expire seven days after they are sent. */
export const INVITE_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export const ORG_ROLES: readonly OrgRole[] = ['user', 'admin'];
export const VAULT_ROLES: readonly VaultRole[] = ['read', 'write', 'admin'];

/** A refusal with the HTTP status and the `detail` VGS would send. */
export class VgsError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Somebody in a vault's member list: a person or a service account's technical user. */
export interface VaultMemberView {
  id: string;
  email: string;
  role: VaultRole;
}

const byCreated = <T extends { createdAt: string; id: string }>(a: T, b: T) =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The organizations' mutable contents. Lists come out in a stable order (creation time, then id), which is the
 * order the API pages them in.
 */
export class VgsState {
  private readonly organizations = new Map<string, OrganizationRecord>();
  private readonly members = new Map<string, MemberRecord>();
  private readonly serviceAccounts = new Map<string, ServiceAccountRecord>();
  private readonly invites = new Map<string, InviteRecord>();
  private readonly vaults = new Map<string, VaultRecord>();
  /** vault identifier -> member id -> role. */
  private readonly vaultMembers = new Map<string, Map<string, VaultRole>>();
  private sequence = 0;

  constructor(
    data: VgsData,
    private readonly clock: Clock = Date.now,
  ) {
    for (const o of data.organizations) this.organizations.set(o.id, { ...o });
    for (const m of data.members) this.members.set(m.id, { ...m });
    for (const sa of data.serviceAccounts) this.serviceAccounts.set(sa.clientId, { ...sa, scopes: [...sa.scopes] });
    for (const inv of data.invites) this.invites.set(inv.inviteId, { ...inv, vaults: [...inv.vaults] });
    for (const v of data.vaults) {
      this.vaults.set(v.identifier, { ...v });
      this.vaultMembers.set(v.identifier, new Map());
    }
    for (const [identifier, memberId, role] of data.vaultMembers)
      this.vaultMembers.get(identifier)?.set(memberId, role);
  }

  // ---- reads ----

  organization(id: string): OrganizationRecord | undefined {
    return this.organizations.get(id);
  }

  listOrganizations(): OrganizationRecord[] {
    return [...this.organizations.values()].sort(byCreated);
  }

  /** Organizations a service account may read: its own and its extra ones. */
  organizationsOf(sa: ServiceAccountRecord): OrganizationRecord[] {
    const ids = new Set([sa.orgId, ...sa.extraOrgIds]);
    return this.listOrganizations().filter((o) => ids.has(o.id));
  }

  serviceAccount(clientId: string): ServiceAccountRecord | undefined {
    return this.serviceAccounts.get(clientId);
  }

  listServiceAccounts(orgId?: string): ServiceAccountRecord[] {
    return [...this.serviceAccounts.values()]
      .filter((sa) => orgId === undefined || sa.orgId === orgId)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  member(id: string): MemberRecord | undefined {
    return this.members.get(id);
  }

  listMembers(orgId: string): MemberRecord[] {
    return [...this.members.values()].filter((m) => m.orgId === orgId).sort(byCreated);
  }

  /** `PENDING` or `EXPIRED` (seven days after it was sent), unless the record says otherwise. */
  inviteStatus(invite: InviteRecord): string {
    if (invite.statusOverride) return invite.statusOverride;
    return Date.parse(invite.createdAt) + INVITE_LIFETIME_MS <= this.clock() ? 'EXPIRED' : 'PENDING';
  }

  invite(inviteId: string): InviteRecord | undefined {
    return this.invites.get(inviteId);
  }

  /** Every invitation of the organization, expired ones included (as the API lists them). */
  listInvites(orgId: string): InviteRecord[] {
    return [...this.invites.values()].filter((i) => i.orgId === orgId).sort(byCreated);
  }

  /** Invitations the connector should sync: pending by date, whatever a stale status says. */
  pendingInvites(orgId: string): InviteRecord[] {
    return this.listInvites(orgId).filter(
      (i) =>
        !i.statusOverride?.match(/EXPIRED|ACCEPTED|CANCEL/) &&
        Date.parse(i.createdAt) + INVITE_LIFETIME_MS > this.clock(),
    );
  }

  vault(identifier: string): VaultRecord | undefined {
    return this.vaults.get(identifier);
  }

  listVaults(orgIds?: ReadonlySet<string>): VaultRecord[] {
    return [...this.vaults.values()].filter((v) => !orgIds || orgIds.has(v.orgId)).sort((a, b) => byCreated(a, b));
  }

  /** A vault's members, people and service accounts, ordered by id. */
  listVaultMembers(identifier: string): VaultMemberView[] {
    const roles = this.vaultMembers.get(identifier);
    if (!roles) return [];
    const technical = new Map(this.listServiceAccounts().map((sa) => [sa.memberId, sa]));
    const out: VaultMemberView[] = [];
    for (const [id, role] of roles) {
      const person = this.members.get(id);
      const sa = technical.get(id);
      const email = person?.email ?? (sa ? `${sa.clientId}@vgs.dev` : '');
      if (email) out.push({ id, email, role });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  vaultRole(identifier: string, memberId: string): VaultRole | undefined {
    return this.vaultMembers.get(identifier)?.get(memberId);
  }

  /** Vault memberships of the organization's vaults, people and service accounts. */
  vaultMembershipCount(orgId: string): number {
    return this.listVaults(new Set([orgId])).reduce((n, v) => n + (this.vaultMembers.get(v.identifier)?.size ?? 0), 0);
  }

  // ---- writes (each throws VgsError with VGS's status and detail) ----

  /**
   * Adds a service account (tests: a second account with other scopes). An account with the same technical user
   * (member id) is replaced, so credentials can be swapped without changing vault memberships.
   */
  addServiceAccount(record: ServiceAccountRecord): ServiceAccountRecord {
    const copy = { ...record, scopes: [...record.scopes], extraOrgIds: [...record.extraOrgIds] };
    for (const [clientId, sa] of this.serviceAccounts)
      if (sa.memberId === copy.memberId) this.serviceAccounts.delete(clientId);
    this.serviceAccounts.set(copy.clientId, copy);
    return copy;
  }

  setMemberRole(orgId: string, memberId: string, role: string): void {
    const member = this.requireMember(orgId, memberId);
    const newRole = this.requireRole(role, ORG_ROLES, 'Organization role');
    if (member.role === 'admin' && newRole !== 'admin') this.requireAnotherAdmin(orgId, memberId);
    member.role = newRole;
    member.updatedAt = new Date(this.clock()).toISOString();
  }

  /** Removes the person from the organization and from the organization's vaults. */
  removeMember(orgId: string, memberId: string): void {
    const member = this.requireMember(orgId, memberId);
    if (member.role === 'admin') this.requireAnotherAdmin(orgId, memberId);
    this.members.delete(memberId);
    for (const vault of this.listVaults(new Set([orgId]))) this.vaultMembers.get(vault.identifier)?.delete(memberId);
  }

  createInvite(
    orgId: string,
    input: { email: unknown; role: unknown; vaults: unknown },
    invitedBy: string,
  ): InviteRecord {
    const email = typeof input.email === 'string' ? input.email.trim() : '';
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new VgsError(422, `"${email}" is not a valid email address`);
    const role = this.requireRole(input.role ?? 'user', ORG_ROLES, 'Organization role');
    const lower = email.toLowerCase();
    if (this.listMembers(orgId).some((m) => m.email.toLowerCase() === lower)) {
      throw new VgsError(409, `User ${email} is already a member of the organization`);
    }
    if (this.listInvites(orgId).some((i) => i.email.toLowerCase() === lower && this.inviteStatus(i) === 'PENDING')) {
      throw new VgsError(409, `An invitation for ${email} is already pending`);
    }
    const vaults: InviteRecord['vaults'] = [];
    for (const entry of Array.isArray(input.vaults) ? input.vaults : input.vaults === undefined ? [] : [null]) {
      const id = entry && typeof entry === 'object' ? (entry as Record<string, unknown>).id : undefined;
      const vault = typeof id === 'string' ? this.vaults.get(id) : undefined;
      if (!vault || vault.orgId !== orgId)
        throw new VgsError(422, `Vault ${JSON.stringify(id)} is not in the organization`);
      const vaultRole = this.requireRole((entry as Record<string, unknown>).role ?? 'read', VAULT_ROLES, 'Vault role');
      vaults.push({ id: vault.identifier, role: vaultRole });
    }
    const n = ++this.sequence;
    const invite: InviteRecord = {
      inviteId: `IVsim${String(n).padStart(6, '0')}${lower.replace(/[^a-z0-9]/g, '').slice(0, 11)}`,
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      orgId,
      email,
      invitedBy,
      role,
      createdAt: new Date(this.clock()).toISOString(),
      vaults,
    };
    this.invites.set(invite.inviteId, invite);
    return invite;
  }

  cancelInvite(orgId: string, inviteId: string): void {
    const invite = this.invites.get(inviteId);
    if (!invite || invite.orgId !== orgId || this.inviteStatus(invite) !== 'PENDING') {
      throw new VgsError(404, `Invite ${inviteId} not found`);
    }
    this.invites.delete(inviteId);
  }

  /** Adds the member to the vault or changes their role (an upsert, as VGS does). */
  setVaultRole(identifier: string, memberId: string, role: string): void {
    const vault = this.requireVault(identifier);
    const vaultRole = this.requireRole(role, VAULT_ROLES, 'Vault role');
    const person = this.members.get(memberId);
    const sa = this.listServiceAccounts(vault.orgId).find((s) => s.memberId === memberId);
    if (!(person && person.orgId === vault.orgId) && !sa) {
      throw new VgsError(404, `User ${memberId} not found in the vault's organization`);
    }
    this.vaultMembers.get(identifier)!.set(memberId, vaultRole);
  }

  removeVaultMember(identifier: string, memberId: string): void {
    this.requireVault(identifier);
    if (!this.vaultMembers.get(identifier)!.delete(memberId)) {
      throw new VgsError(404, `User ${memberId} is not a member of vault ${identifier}`);
    }
  }

  // ---- helpers ----

  private requireMember(orgId: string, memberId: string): MemberRecord {
    const member = this.members.get(memberId);
    if (!member || member.orgId !== orgId) throw new VgsError(404, `User ${memberId} not found in organization`);
    return member;
  }

  requireVault(identifier: string): VaultRecord {
    const vault = this.vaults.get(identifier);
    if (!vault) throw new VgsError(404, `Vault ${identifier} not found`);
    return vault;
  }

  private requireAnotherAdmin(orgId: string, memberId: string): void {
    if (!this.listMembers(orgId).some((m) => m.role === 'admin' && m.id !== memberId)) {
      throw new VgsError(422, 'The organization must keep at least one admin');
    }
  }

  private requireRole<R extends string>(value: unknown, allowed: readonly R[], what: string): R {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as R;
    throw new VgsError(400, `${what} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
}
