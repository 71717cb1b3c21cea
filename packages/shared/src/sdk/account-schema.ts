/**
 * The account-creation schema a connector with account provisioning advertises in its metadata: which fields a
 * host should ask for (and send in `AccountInfo.profile`) when it creates an account.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ConnectorAccountCreationSchemaSchema,
  type ConnectorAccountCreationSchema,
} from '../gen/c1/connector/v2/connector_pb.js';

interface AccountFieldCommon {
  displayName: string;
  required?: boolean;
  description?: string;
  placeholder?: string;
  /** Position in the host's form (default: the field's position in the object, from 1). */
  order?: number;
}

export type AccountFieldInput = AccountFieldCommon &
  (
    | { type: 'string'; defaultValue?: string }
    | { type: 'bool'; defaultValue?: boolean }
    | { type: 'stringList'; defaultValue?: string[] }
    | { type: 'int'; defaultValue?: number }
  );

type FieldInit = NonNullable<MessageInitShape<typeof ConnectorAccountCreationSchemaSchema>['fieldMap']>[string];

function fieldValue(input: AccountFieldInput): FieldInit['field'] {
  switch (input.type) {
    case 'string':
      return { case: 'stringField', value: { defaultValue: input.defaultValue } };
    case 'bool':
      return { case: 'boolField', value: { defaultValue: input.defaultValue } };
    case 'stringList':
      return { case: 'stringListField', value: { defaultValue: input.defaultValue ?? [] } };
    case 'int':
      return { case: 'intField', value: { defaultValue: input.defaultValue } };
  }
}

/** Builds the schema from `{ profileKey: field }` (keys are the `AccountInfo.profile` keys the host sends). */
export function accountCreationSchema(fields: Record<string, AccountFieldInput>): ConnectorAccountCreationSchema {
  const fieldMap: Record<string, FieldInit> = {};
  Object.entries(fields).forEach(([key, input], index) => {
    fieldMap[key] = {
      displayName: input.displayName,
      required: input.required ?? false,
      description: input.description ?? '',
      placeholder: input.placeholder ?? '',
      order: input.order ?? index + 1,
      deprecated: false,
      field: fieldValue(input),
    };
  });
  return create(ConnectorAccountCreationSchemaSchema, { fieldMap });
}
