/**
 * PatchOp bodies (RFC 7644 §3.5.2) in the two dialects SCIM servers built for Microsoft Entra understand:
 *
 * - `rfc`: lower-case ops; a member is removed with a filtered path, `members[value eq "<id>"]`. This is what the
 *   RFC says and what Entra sends in its compliant mode.
 * - `entra-legacy`: capitalised ops (`Add`, `Remove`, `Replace`); a member is removed with `path: "members"` and a
 *   `value` list. This is what Entra sends by default to older non-gallery apps, so a server that was only ever
 *   tested with Entra may accept nothing else.
 *
 * The client sends `rfc` first and falls back to `entra-legacy` once when a server rejects the request as malformed
 * (see ScimClient.patch); docs/apis/scim.md has the details.
 */
import { SCIM_PATCH_OP_SCHEMA, type ScimPatchOpName, type ScimPatchOperation, type ScimPatchRequest } from './types.js';

export type PatchDialect = 'rfc' | 'entra-legacy';

/** A dialect-neutral operation: what to change, not how the server wants it spelled. */
export type PatchIntent =
  | { kind: 'addMembers'; ids: string[] }
  | { kind: 'removeMember'; id: string }
  | { kind: 'replace'; path: string; value: unknown };

const CAPITALISED: Record<ScimPatchOpName, string> = { add: 'Add', remove: 'Remove', replace: 'Replace' };

function op(name: ScimPatchOpName, dialect: PatchDialect, path: string, value?: unknown): ScimPatchOperation {
  const spelled = dialect === 'entra-legacy' ? CAPITALISED[name] : name;
  return value === undefined ? { op: spelled, path } : { op: spelled, path, value };
}

/** One intent as the operation(s) of a dialect. */
export function patchOperation(intent: PatchIntent, dialect: PatchDialect): ScimPatchOperation {
  switch (intent.kind) {
    case 'addMembers':
      return op(
        'add',
        dialect,
        'members',
        intent.ids.map((value) => ({ value })),
      );
    case 'removeMember':
      return dialect === 'entra-legacy'
        ? op('remove', dialect, 'members', [{ value: intent.id }])
        : op('remove', dialect, `members[value eq ${JSON.stringify(intent.id)}]`);
    case 'replace':
      return op('replace', dialect, intent.path, intent.value);
  }
}

/** A PatchOp request body for the intents, spelled in one dialect. */
export function patchRequest(intents: PatchIntent[], dialect: PatchDialect): ScimPatchRequest {
  return { schemas: [SCIM_PATCH_OP_SCHEMA], Operations: intents.map((i) => patchOperation(i, dialect)) };
}
