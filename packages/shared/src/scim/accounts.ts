/**
 * Account creation over SCIM: `POST /Users` with userName, emails, name and `active: true`, as Entra creates users.
 * Idempotent: a user whose userName is taken is looked up first (`filter=userName eq "..."`) and answered as
 * AlreadyExists without a POST; a 409 `uniqueness` (someone created it in between) is answered the same way.
 */
import { create } from '@bufbuild/protobuf';
import {
  ConnectorAccountCreationSchemaSchema,
  type ConnectorAccountCreationSchema,
} from '../gen/c1/connector/v2/connector_pb.js';
import type { AccountInfo } from '../gen/c1/connector/v2/resource_pb.js';
import type { JsonObject } from '@bufbuild/protobuf';
import type { AccountManager, CallContext, CreateAccountOutcome } from '../sdk/connector.js';
import { invalidArgument } from '../sdk/errors.js';
import { isEmail, type ResourceType } from '../sdk/resources.js';
import type { ScimClient } from './client.js';
import { ScimError } from './errors.js';
import { scimEq } from './filter.js';
import { SCIM_USER_SCHEMA, type ScimUser } from './types.js';
import { scimUserResource } from './users.js';

/** Profile keys a host (or `--create-account-profile`) may send; camelCase spellings are accepted too. */
const FIELDS = {
  email: { displayName: 'Email', description: 'Work email; also the SCIM userName unless a login is given', order: 1 },
  given_name: { displayName: 'First name', description: 'name.givenName', order: 2 },
  family_name: { displayName: 'Last name', description: 'name.familyName', order: 3 },
  display_name: { displayName: 'Display name', description: 'Defaults to "First Last"', order: 4 },
  external_id: { displayName: 'External id', description: 'Your identity provider id for the user', order: 5 },
} as const;

function accountCreationSchema(): ConnectorAccountCreationSchema {
  return create(ConnectorAccountCreationSchemaSchema, {
    fieldMap: Object.fromEntries(
      Object.entries(FIELDS).map(([key, f]) => [
        key,
        {
          displayName: f.displayName,
          description: f.description,
          required: key === 'email',
          order: f.order,
          placeholder: key === 'email' ? 'ada@example.com' : '',
          field: { case: 'stringField' as const, value: {} },
        },
      ]),
    ),
  });
}

function profileText(profile: JsonObject | undefined, snake: string, camel: string): string | undefined {
  for (const key of [snake, camel]) {
    const v = profile?.[key];
    if (typeof v === 'string' && v.trim()) return v.trim();
  }
  return undefined;
}

/** The POST /Users body for an account request; INVALID_ARGUMENT when there is no usable email or login. */
export function scimNewUser(info: Pick<AccountInfo, 'login' | 'emails' | 'profile'>): Partial<ScimUser> {
  const profile = info.profile;
  const email =
    info.emails.find((e) => e.isPrimary && isEmail(e.address))?.address ??
    info.emails.find((e) => isEmail(e.address))?.address ??
    profileText(profile, 'email', 'email');
  const login = info.login?.trim() || email;
  if (!login) throw invalidArgument('an email (or a login) is required to create an account');
  if (email !== undefined && !isEmail(email)) throw invalidArgument(`not an email address: ${JSON.stringify(email)}`);
  const givenName = profileText(profile, 'given_name', 'givenName');
  const familyName = profileText(profile, 'family_name', 'familyName');
  const formatted = [givenName, familyName].filter(Boolean).join(' ') || undefined;
  const displayName = profileText(profile, 'display_name', 'displayName') ?? formatted;
  const externalId = profileText(profile, 'external_id', 'externalId');
  const user: Partial<ScimUser> = { schemas: [SCIM_USER_SCHEMA], userName: login, active: true };
  if (givenName || familyName) user.name = { givenName, familyName, formatted };
  if (displayName) user.displayName = displayName;
  if (email) user.emails = [{ value: email, type: 'work', primary: true }];
  if (externalId) user.externalId = externalId;
  return user;
}

export function scimAccountManager(options: {
  client: ScimClient;
  userType: ResourceType;
  product: string;
}): AccountManager {
  const { client, userType, product } = options;
  const existing = (userName: string, ctx: CallContext) =>
    client.findOne<ScimUser>('Users', scimEq('userName', userName), { signal: ctx.signal });

  return {
    resourceTypeId: userType.id,
    // Users sign in through the organisation's identity provider: the connector never sets a password.
    credentialOptions: ['noPassword'],
    accountCreationSchema: accountCreationSchema(),
    async createAccount(info, _credentials, _encryption, ctx): Promise<CreateAccountOutcome> {
      const body = scimNewUser(info);
      const userName = body.userName as string;
      const found = await existing(userName, ctx);
      if (found) return { kind: 'alreadyExists', resource: scimUserResource(found, userType, product) };
      let created: ScimUser;
      try {
        created = await client.create<ScimUser>('Users', body, { signal: ctx.signal });
      } catch (err) {
        if (!(err instanceof ScimError) || err.status !== 409) throw err;
        const raced = await existing(userName, ctx);
        if (!raced) throw err;
        return { kind: 'alreadyExists', resource: scimUserResource(raced, userType, product) };
      }
      ctx.logger.info(`${client.service}: created user`, { userId: created.id });
      return { kind: 'success', resource: scimUserResource(created, userType, product) };
    },
  };
}
