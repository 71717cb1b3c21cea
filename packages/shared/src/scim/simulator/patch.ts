/**
 * PATCH (RFC 7644 §3.5.2) as the simulator applies it: atomic (the caller applies to a copy and keeps it only when
 * every operation succeeded), `op` matched per the server's rules (any case, lower case only, or Entra's
 * capitalised spelling only), paths with value filters, the no-path form with an object of (possibly dotted)
 * attributes, and both member-removal forms Entra uses, each of which can be switched off.
 */
import { SCIM_PATCH_OP_SCHEMA } from '../types.js';
import { FilterSyntaxError, getAttr, matchesFilter, parsePatchPath, type PatchPath } from './filter.js';
import { ScimSimError } from './state.js';

export type PatchOpCase = 'any' | 'lowercase' | 'capitalised';
export type RemoveMemberForms = 'both' | 'filter' | 'legacy';

export interface PatchRules {
  patchOpCase: PatchOpCase;
  removeMemberForms: RemoveMemberForms;
}

/** A resource as a PATCH edits it: canonical attribute names, values as JSON. */
export type PatchDocument = Record<string, unknown>;

type OpName = 'add' | 'remove' | 'replace';

const CAPITALISED: Record<OpName, string> = { add: 'Add', remove: 'Remove', replace: 'Replace' };

/** Lower-cased attribute -> canonical name, per resource kind; anything else is an unknown path. */
const ATTRIBUTES = {
  user: {
    username: 'userName',
    externalid: 'externalId',
    displayname: 'displayName',
    nickname: 'nickName',
    title: 'title',
    name: 'name',
    emails: 'emails',
    active: 'active',
  },
  group: { displayname: 'displayName', externalid: 'externalId', members: 'members' },
} as const;

const SUB_ATTRIBUTES: Record<string, string> = {
  givenname: 'givenName',
  familyname: 'familyName',
  middlename: 'middleName',
  formatted: 'formatted',
  value: 'value',
  type: 'type',
  primary: 'primary',
  display: 'display',
};

const MULTI_VALUED = new Set(['emails', 'members']);
const READ_ONLY = new Set(['id', 'meta', 'groups', 'schemas']);

function bad(scimType: string, detail: string, status = 400): ScimSimError {
  return new ScimSimError(status, scimType, detail);
}

function opName(raw: unknown, rules: PatchRules): OpName {
  if (typeof raw !== 'string') throw bad('invalidSyntax', 'every operation needs an "op"');
  const lower = raw.toLowerCase();
  if (lower !== 'add' && lower !== 'remove' && lower !== 'replace') {
    throw bad('invalidSyntax', `unknown op ${JSON.stringify(raw)}`);
  }
  if (rules.patchOpCase === 'lowercase' && raw !== lower) {
    throw bad('invalidSyntax', `op must be lower case ("${lower}"), got ${JSON.stringify(raw)}`);
  }
  if (rules.patchOpCase === 'capitalised' && raw !== CAPITALISED[lower]) {
    throw bad('invalidSyntax', `unknown op ${JSON.stringify(raw)} (expected "${CAPITALISED[lower]}")`);
  }
  return lower;
}

function canonical(kind: 'user' | 'group', attr: string): string {
  if (READ_ONLY.has(attr)) throw bad('mutability', `attribute "${attr}" is read-only`);
  const name = (ATTRIBUTES[kind] as Record<string, string>)[attr];
  if (!name) throw bad('invalidPath', `unknown attribute "${attr}"`);
  return name;
}

function subName(sub: string): string {
  const name = SUB_ATTRIBUTES[sub];
  if (!name) throw bad('invalidPath', `unknown sub-attribute "${sub}"`);
  return name;
}

function asList(value: unknown): Record<string, unknown>[] {
  const list = Array.isArray(value) ? value : [value];
  for (const el of list) {
    if (!el || typeof el !== 'object' || Array.isArray(el)) throw bad('invalidValue', 'expected objects in the value');
  }
  return list as Record<string, unknown>[];
}

function sameElement(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const av = getAttr(a, 'value');
  return av !== undefined && av === getAttr(b, 'value');
}

/** `type eq "work"` inside a value filter -> {type: "work"}, so a replace on a missing element can create it. */
function impliedFields(path: PatchPath): Record<string, unknown> {
  const f = path.filter;
  if (f?.kind === 'compare' && f.op === 'eq' && typeof f.value === 'string' && !f.path.sub) {
    return { [SUB_ATTRIBUTES[f.path.attr] ?? f.path.attr]: f.value };
  }
  return {};
}

function applyOne(
  doc: PatchDocument,
  kind: 'user' | 'group',
  op: OpName,
  rawPath: string,
  value: unknown,
  rules: PatchRules,
): void {
  if (rawPath.toLowerCase().startsWith('urn:') && !/:(User|Group):[a-z]+(\.[a-z]+)?$/i.test(rawPath.split('[')[0]!)) {
    throw bad('invalidPath', `unknown schema in path ${JSON.stringify(rawPath)}`);
  }
  if (/^urn:.*:extension:/i.test(rawPath)) {
    // Extension attributes (e.g. the enterprise user's employeeNumber) are kept verbatim under their full path.
    const extra = (doc.extra ?? {}) as Record<string, unknown>;
    if (op === 'remove') delete extra[rawPath];
    else extra[rawPath] = value;
    doc.extra = extra;
    return;
  }
  let path: PatchPath;
  try {
    path = parsePatchPath(rawPath);
  } catch (err) {
    if (err instanceof FilterSyntaxError)
      throw bad('invalidPath', `bad path ${JSON.stringify(rawPath)}: ${err.message}`);
    throw err;
  }
  const attr = canonical(kind, path.attr);
  const multi = MULTI_VALUED.has(attr);
  const members = attr === 'members';

  if (path.filter) {
    if (!multi) throw bad('invalidPath', `"${attr}" is not multi-valued`);
    if (members && rules.removeMemberForms === 'legacy') {
      throw bad('invalidPath', 'filtered member paths are not supported; send path "members" with a value list');
    }
    const list = asList(doc[attr] ?? []);
    const matching = list.filter((el) => matchesFilter(el, path.filter!));
    if (op === 'remove') {
      if (matching.length === 0) throw bad('noTarget', `no value of "${attr}" matches ${JSON.stringify(rawPath)}`);
      doc[attr] = list.filter((el) => !matching.includes(el));
      return;
    }
    if (path.sub) {
      const sub = subName(path.sub);
      if (matching.length === 0) doc[attr] = [...list, { ...impliedFields(path), [sub]: value }];
      else for (const el of matching) el[sub] = value;
      return;
    }
    const replacement = asList(value)[0]!;
    if (matching.length === 0) throw bad('noTarget', `no value of "${attr}" matches ${JSON.stringify(rawPath)}`);
    doc[attr] = list.map((el) => (matching.includes(el) ? { ...el, ...replacement } : el));
    return;
  }

  if (path.sub) {
    if (multi) throw bad('invalidPath', `"${attr}" needs a value filter before ".${path.sub}"`);
    const sub = subName(path.sub);
    const obj = { ...((doc[attr] as Record<string, unknown> | undefined) ?? {}) };
    if (op === 'remove') delete obj[sub];
    else obj[sub] = value;
    doc[attr] = obj;
    return;
  }

  if (op === 'remove') {
    if (value !== undefined && multi) {
      if (members && rules.removeMemberForms === 'filter') {
        throw bad('invalidValue', 'remove takes no value; remove a member with path members[value eq "<id>"]');
      }
      // Entra's legacy form: path "members" plus the values to remove.
      const gone = asList(value);
      doc[attr] = asList(doc[attr] ?? []).filter((el) => !gone.some((g) => sameElement(el, g)));
      return;
    }
    delete doc[attr];
    return;
  }
  if (multi) {
    const incoming = asList(value);
    if (op === 'replace') {
      doc[attr] = incoming;
      return;
    }
    const list = asList(doc[attr] ?? []);
    doc[attr] = [...list, ...incoming.filter((el) => !list.some((have) => sameElement(have, el)))];
    return;
  }
  if (attr === 'name' && (op === 'add' || op === 'replace') && value && typeof value === 'object') {
    doc.name = op === 'add' ? { ...((doc.name as object | undefined) ?? {}), ...value } : value;
    return;
  }
  doc[attr] = value;
}

/** Applies a PatchOp request to `doc` (a copy) in place; throws ScimSimError on the first bad operation. */
export function applyPatch(doc: PatchDocument, kind: 'user' | 'group', body: unknown, rules: PatchRules): void {
  const request = body as { schemas?: unknown; Operations?: unknown } | undefined;
  if (!request || typeof request !== 'object') throw bad('invalidSyntax', 'the body must be a PatchOp request');
  if (!Array.isArray(request.schemas) || !request.schemas.includes(SCIM_PATCH_OP_SCHEMA)) {
    throw bad('invalidSyntax', `schemas must contain ${SCIM_PATCH_OP_SCHEMA}`);
  }
  const operations = (request as { Operations?: unknown; operations?: unknown }).Operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw bad('invalidSyntax', 'Operations must be a non-empty list');
  }
  for (const raw of operations) {
    const o = raw as { op?: unknown; path?: unknown; value?: unknown };
    const op = opName(o?.op, rules);
    if (o.path === undefined || o.path === null || o.path === '') {
      if (op === 'remove') throw bad('noTarget', 'remove needs a path');
      if (!o.value || typeof o.value !== 'object' || Array.isArray(o.value)) {
        throw bad('invalidValue', `${op} without a path needs an object of attributes`);
      }
      for (const [key, v] of Object.entries(o.value)) applyOne(doc, kind, op, key, v, rules);
      continue;
    }
    if (typeof o.path !== 'string') throw bad('invalidPath', 'path must be a string');
    applyOne(doc, kind, op, o.path, o.value, rules);
  }
}
