/**
 * Connector metadata and capabilities, derived from what the connector actually implements: every type syncs,
 * grant/revoke adds PROVISION, create/delete add RESOURCE_CREATE/DELETE, an account manager adds
 * ACCOUNT_PROVISIONING. The same data feeds GetMetadata and the `capabilities` command (capabilities-json.ts).
 */
import { create } from '@bufbuild/protobuf';
import {
  Capability,
  CapabilityDetailCredentialOption,
  ConnectorCapabilitiesSchema,
  ConnectorMetadataSchema,
  type ConnectorCapabilities,
  type ConnectorMetadata,
} from '../gen/c1/connector/v2/connector_pb.js';
import type { AccountManager, Connector, ConnectorDefinition } from '../sdk/connector.js';
import { isHttpsUrl } from '../sdk/resources.js';

const CREDENTIAL_OPTION: Record<AccountManager['credentialOptions'][number], CapabilityDetailCredentialOption> = {
  noPassword: CapabilityDetailCredentialOption.NO_PASSWORD,
  randomPassword: CapabilityDetailCredentialOption.RANDOM_PASSWORD,
  sso: CapabilityDetailCredentialOption.SSO,
  encryptedPassword: CapabilityDetailCredentialOption.ENCRYPTED_PASSWORD,
};

export function connectorCapabilities(connector: Connector): ConnectorCapabilities {
  const all = new Set<Capability>();
  const perType = [...connector.syncers]
    .sort((a, b) => (a.resourceType.id < b.resourceType.id ? -1 : a.resourceType.id > b.resourceType.id ? 1 : 0))
    .map((syncer) => {
      const caps: Capability[] = [Capability.SYNC];
      if (syncer.grant || syncer.revoke) caps.push(Capability.PROVISION);
      if (connector.accountManager?.resourceTypeId === syncer.resourceType.id)
        caps.push(Capability.ACCOUNT_PROVISIONING);
      if (syncer.create) caps.push(Capability.RESOURCE_CREATE);
      if (syncer.delete) caps.push(Capability.RESOURCE_DELETE);
      caps.forEach((c) => all.add(c));
      return { resourceType: syncer.resourceType, capabilities: caps };
    });
  const manager = connector.accountManager;
  return create(ConnectorCapabilitiesSchema, {
    resourceTypeCapabilities: perType,
    connectorCapabilities: [...all].sort((a, b) => a - b),
    credentialDetails: manager
      ? {
          capabilityAccountProvisioning: {
            supportedCredentialOptions: manager.credentialOptions.map((o) => CREDENTIAL_OPTION[o]),
            preferredCredentialOption: CREDENTIAL_OPTION[manager.credentialOptions[0] ?? 'noPassword'],
          },
        }
      : {},
  });
}

export function connectorMetadata(definition: ConnectorDefinition, connector: Connector): ConnectorMetadata {
  const { displayName, description, helpUrl } = definition.metadata;
  return create(ConnectorMetadataSchema, {
    displayName,
    description: description ?? '',
    helpUrl: helpUrl && isHttpsUrl(helpUrl) ? helpUrl : '',
    capabilities: connectorCapabilities(connector),
    accountCreationSchema: connector.accountManager?.accountCreationSchema,
  });
}
