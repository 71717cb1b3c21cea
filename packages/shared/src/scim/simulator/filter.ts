/**
 * The SCIM filter language (RFC 7644 §3.4.2.2) for the simulator: `eq ne co sw ew pr gt ge lt le`, `and`, `or`,
 * `not (...)`, grouping, and value paths such as `emails[type eq "work"].value eq "a@b.c"` or
 * `members[value eq "x"]`. Attribute names and operators are case-insensitive; string comparison is too, except for
 * attributes the RFC marks caseExact (ids). Also parses PATCH paths (`members[value eq "x"]`, `name.givenName`).
 */

export class FilterSyntaxError extends Error {}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
type Literal = string | number | boolean | null;

export interface AttrPath {
  /** Lower-cased attribute name (a schema URN prefix is dropped). */
  attr: string;
  /** Lower-cased sub-attribute, if any. */
  sub?: string;
}

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; inner: FilterNode }
  | { kind: 'present'; path: AttrPath }
  | { kind: 'compare'; path: AttrPath; op: CompareOp; value: Literal }
  /** `attr[filter]`, optionally followed by `.sub op value` or `.sub pr`. */
  | { kind: 'valuePath'; attr: string; filter: FilterNode; sub?: string; op?: CompareOp | 'pr'; value?: Literal };

type Token =
  { t: 'word'; v: string } | { t: 'string'; v: string } | { t: 'number'; v: number } | { t: '(' | ')' | '[' | ']' };

const COMPARE_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ t: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new FilterSyntaxError('unterminated string');
      try {
        tokens.push({ t: 'string', v: JSON.parse(text.slice(i, j + 1)) as string });
      } catch {
        throw new FilterSyntaxError(`bad string literal ${text.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (/[-\d]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
      if (!m) throw new FilterSyntaxError(`unexpected ${JSON.stringify(c)}`);
      tokens.push({ t: 'number', v: Number(m[0]) });
      i += m[0].length;
    } else {
      // `.value` right after `]` is the sub-attribute of a value path.
      const afterBracket = tokens[tokens.length - 1]?.t === ']';
      const m = (afterBracket ? /^\.?[A-Za-z$][\w:.$-]*/ : /^[A-Za-z$][\w:.$-]*/).exec(text.slice(i));
      if (!m) throw new FilterSyntaxError(`unexpected ${JSON.stringify(c)}`);
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

/** `urn:...:User:name.givenName` -> {attr: 'name', sub: 'givenname'}. */
function attrPath(word: string): AttrPath {
  let name = word;
  const colon = name.lastIndexOf(':');
  if (colon >= 0) name = name.slice(colon + 1);
  const [attr, sub, ...more] = name.split('.');
  if (!attr || more.length > 0) throw new FilterSyntaxError(`bad attribute path ${JSON.stringify(word)}`);
  return { attr: attr.toLowerCase(), sub: sub?.toLowerCase() };
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): FilterNode {
    const node = this.or();
    if (this.pos < this.tokens.length) throw new FilterSyntaxError('unexpected text after the filter');
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private keyword(word: string): boolean {
    const t = this.peek();
    if (t?.t === 'word' && t.v.toLowerCase() === word) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(t: '(' | ')' | '[' | ']'): void {
    if (this.peek()?.t !== t) throw new FilterSyntaxError(`expected ${t}`);
    this.pos++;
  }

  private or(): FilterNode {
    let left = this.and();
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): FilterNode {
    let left = this.not();
    while (this.keyword('and')) left = { kind: 'and', left, right: this.not() };
    return left;
  }

  private not(): FilterNode {
    if (this.keyword('not')) {
      this.expect('(');
      const inner = this.or();
      this.expect(')');
      return { kind: 'not', inner };
    }
    return this.atom();
  }

  private literal(): Literal {
    const t = this.tokens[this.pos++];
    if (!t) throw new FilterSyntaxError('missing comparison value');
    if (t.t === 'string' || t.t === 'number') return t.v;
    if (t.t === 'word') {
      const w = t.v.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    throw new FilterSyntaxError('comparison values must be quoted strings, numbers, true, false or null');
  }

  private operator(): CompareOp | 'pr' {
    const t = this.tokens[this.pos++];
    const op = t?.t === 'word' ? t.v.toLowerCase() : '';
    if (op === 'pr' || COMPARE_OPS.has(op)) return op as CompareOp | 'pr';
    throw new FilterSyntaxError(`unknown operator ${JSON.stringify(op)}`);
  }

  private atom(): FilterNode {
    const t = this.peek();
    if (t?.t === '(') {
      this.pos++;
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (t?.t !== 'word') throw new FilterSyntaxError('expected an attribute name');
    this.pos++;
    const path = attrPath(t.v);
    if (this.peek()?.t === '[') {
      if (path.sub) throw new FilterSyntaxError('a value filter follows a multi-valued attribute');
      this.pos++;
      const filter = this.or();
      this.expect(']');
      const next = this.peek();
      if (next?.t === 'word' && next.v.startsWith('.')) {
        this.pos++;
        const sub = next.v.slice(1).toLowerCase();
        const op = this.operator();
        return op === 'pr'
          ? { kind: 'valuePath', attr: path.attr, filter, sub, op }
          : { kind: 'valuePath', attr: path.attr, filter, sub, op, value: this.literal() };
      }
      return { kind: 'valuePath', attr: path.attr, filter };
    }
    const op = this.operator();
    return op === 'pr' ? { kind: 'present', path } : { kind: 'compare', path, op, value: this.literal() };
  }
}

export function parseFilter(text: string): FilterNode {
  return new Parser(tokenize(text)).parse();
}

/** A PATCH path: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`. */
export interface PatchPath {
  attr: string;
  sub?: string;
  filter?: FilterNode;
}

export function parsePatchPath(text: string): PatchPath {
  const bracket = text.indexOf('[');
  if (bracket < 0) return attrPath(text.trim());
  const close = text.lastIndexOf(']');
  if (close < bracket) throw new FilterSyntaxError(`bad path ${JSON.stringify(text)}`);
  const head = attrPath(text.slice(0, bracket).trim());
  if (head.sub) throw new FilterSyntaxError(`bad path ${JSON.stringify(text)}`);
  const filter = parseFilter(text.slice(bracket + 1, close));
  const rest = text.slice(close + 1).trim();
  if (rest && !/^\.[A-Za-z]\w*$/.test(rest)) throw new FilterSyntaxError(`bad path ${JSON.stringify(text)}`);
  return { attr: head.attr, filter, sub: rest ? rest.slice(1).toLowerCase() : undefined };
}

/** Attributes compared case-sensitively (RFC 7643 caseExact). */
const CASE_EXACT = new Set(['id', 'externalid', 'value', '$ref']);

/** A key of `obj` matching `name` case-insensitively. */
export function getAttr(obj: unknown, name: string): unknown {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function compare(actual: unknown, op: CompareOp, expected: Literal, caseExact: boolean): boolean {
  if (Array.isArray(actual)) return actual.some((a) => compare(a, op, expected, caseExact));
  if (actual === undefined) return op === 'ne' ? expected !== null : expected === null && op === 'eq';
  if (typeof actual === 'string' && typeof expected === 'string') {
    const a = caseExact ? actual : actual.toLowerCase();
    const e = caseExact ? expected : expected.toLowerCase();
    switch (op) {
      case 'eq':
        return a === e;
      case 'ne':
        return a !== e;
      case 'co':
        return a.includes(e);
      case 'sw':
        return a.startsWith(e);
      case 'ew':
        return a.endsWith(e);
      case 'gt':
        return a > e;
      case 'ge':
        return a >= e;
      case 'lt':
        return a < e;
      case 'le':
        return a <= e;
    }
  }
  // Entra-era servers store "True"/"False"; compare booleans to those strings as booleans.
  const norm = (v: unknown) =>
    typeof v === 'string' && /^(true|false)$/i.test(v) && typeof expected === 'boolean'
      ? v.toLowerCase() === 'true'
      : v;
  const a = norm(actual);
  switch (op) {
    case 'eq':
      return a === expected;
    case 'ne':
      return a !== expected;
    case 'gt':
      return typeof a === 'number' && typeof expected === 'number' && a > expected;
    case 'ge':
      return typeof a === 'number' && typeof expected === 'number' && a >= expected;
    case 'lt':
      return typeof a === 'number' && typeof expected === 'number' && a < expected;
    case 'le':
      return typeof a === 'number' && typeof expected === 'number' && a <= expected;
    default:
      return false;
  }
}

function valuesAt(resource: unknown, path: AttrPath): unknown {
  const top = getAttr(resource, path.attr);
  if (!path.sub) return top;
  if (Array.isArray(top)) return top.map((el) => getAttr(el, path.sub!));
  return getAttr(top, path.sub);
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.some(present);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Whether a resource (SCIM JSON, as served) matches. */
export function matchesFilter(resource: unknown, node: FilterNode): boolean {
  switch (node.kind) {
    case 'and':
      return matchesFilter(resource, node.left) && matchesFilter(resource, node.right);
    case 'or':
      return matchesFilter(resource, node.left) || matchesFilter(resource, node.right);
    case 'not':
      return !matchesFilter(resource, node.inner);
    case 'present':
      return present(valuesAt(resource, node.path));
    case 'compare':
      return compare(
        valuesAt(resource, node.path),
        node.op,
        node.value,
        CASE_EXACT.has(node.path.sub ?? node.path.attr),
      );
    case 'valuePath': {
      const raw = getAttr(resource, node.attr);
      const elements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
      const matching = elements.filter((el) => matchesFilter(el, node.filter));
      if (!node.sub) return matching.length > 0;
      const subValues = matching.map((el) => getAttr(el, node.sub!));
      if (node.op === 'pr') return present(subValues);
      return compare(subValues, node.op!, node.value ?? null, CASE_EXACT.has(node.sub));
    }
  }
}
