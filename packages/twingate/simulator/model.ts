/** The Twingate objects the simulator stores, as plain records (GraphQL-only fields are computed by resolvers). */

export const USER_ROLES = ['ADMIN', 'DEVOPS', 'SUPPORT', 'ACCESS_REVIEWER', 'MEMBER'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const USER_STATES = ['ACTIVE', 'DISABLED', 'PENDING'] as const;
export type UserState = (typeof USER_STATES)[number];

export const USER_TYPES = ['MANUAL', 'SYNCED'] as const;
export type UserType = (typeof USER_TYPES)[number];

export const GROUP_TYPES = ['MANUAL', 'SYNCED', 'SYSTEM'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];

export interface UserRecord {
  /** The number inside the id (`User:<n>`); also the list order. */
  n: number;
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  role: UserRole;
  state: UserState;
  type: UserType;
  /** ISO-8601 timestamps. */
  createdAt: string;
  updatedAt: string;
}

export interface GroupRecord {
  n: number;
  id: string;
  name: string;
  type: GroupType;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
  /** Membership is computed (every user) instead of stored: Twingate's built-in "Everyone" group. */
  everyone: boolean;
}
