import {
  Kind,
  execute,
  getOperationAST,
  parse,
  validate,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { RateClassifier, RouteHandler, SimRequest, SimResponse } from '@baton-ts/shared/simulator';

import type { ResolverContext } from './resolvers.js';

/** One field call with arguments, as recorded in the request log (e.g. `groups.edges.node.users` with `{first: 100}`). */
export interface GraphQLFieldCall {
  /** Field names from the operation root, dot-separated (aliases ignored). */
  path: string;
  field: string;
  /** Argument values with variables substituted. */
  args: Record<string, unknown>;
}

/** What the request log's `info.graphql` holds for each GraphQL request. */
export interface GraphQLRequestInfo {
  operationType: 'query' | 'mutation' | 'subscription' | null;
  operationName: string | null;
  /** Top-level field names of the selected operation, e.g. `["users"]`. */
  topLevelFields: string[];
  /** Every field that was given arguments, anywhere in the selected operation. */
  calls: GraphQLFieldCall[];
  /** Parse error, if the query text did not parse. */
  syntaxError?: string;
}

interface Prepared {
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
  document: DocumentNode | null;
  syntaxErrors: GraphQLFormattedError[];
  info: GraphQLRequestInfo;
}

export interface GraphQLEndpointOptions {
  schema: GraphQLSchema;
  context: () => ResolverContext;
  /** HTTP status for requests that fail before execution (syntax, validation, variable coercion). */
  requestErrorStatus: () => 200 | 400;
}

const LOCALS_KEY = 'twingateGraphql';

function describe(
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): GraphQLRequestInfo {
  const operation = getOperationAST(document, operationName);
  const info: GraphQLRequestInfo = {
    operationType: operation ? operation.operation : null,
    operationName: operation?.name?.value ?? operationName ?? null,
    topLevelFields: [],
    calls: [],
  };
  if (!operation) return info;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const walk = (set: SelectionSetNode, path: string[], seen: Set<string>, top: boolean) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (top && !info.topLevelFields.includes(name)) info.topLevelFields.push(name);
        const fieldPath = [...path, name];
        if (sel.arguments && sel.arguments.length > 0) {
          const args: Record<string, unknown> = {};
          for (const arg of sel.arguments) args[arg.name.value] = valueFromASTUntyped(arg.value, variables);
          info.calls.push({ path: fieldPath.join('.'), field: name, args });
        }
        if (sel.selectionSet) walk(sel.selectionSet, fieldPath, seen, false);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet, path, seen, top);
      } else {
        const name = sel.name.value;
        const fragment = fragments.get(name);
        if (fragment && !seen.has(name)) walk(fragment.selectionSet, path, new Set([...seen, name]), top);
      }
    }
  };
  walk(operation.selectionSet, [], new Set(), true);
  return info;
}

/**
 * The GraphQL-over-HTTP endpoint: `{query, variables?, operationName?}` in, `{data, errors?}` out, executed by
 * graphql-js against the Twingate schema. Also provides the rate-limit classifier (mutations are writes) which
 * parses the request once and annotates the request log with the operation and its arguments.
 */
export function createGraphQLEndpoint(options: GraphQLEndpointOptions): {
  handler: RouteHandler;
  classify: RateClassifier;
} {
  // Clients send the same few query texts over and over; parsing and validating each text once keeps large
  // syncs cheap. Bounded so a client generating unique texts cannot grow it without limit.
  const documents = new Map<string, { document: DocumentNode | null; errors: GraphQLFormattedError[] }>();
  const validated = new WeakMap<DocumentNode, readonly GraphQLFormattedError[]>();

  const parseCached = (query: string) => {
    let hit = documents.get(query);
    if (!hit) {
      try {
        hit = { document: parse(query), errors: [] };
      } catch (err) {
        const e = err as { toJSON?: () => GraphQLFormattedError; message: string };
        hit = { document: null, errors: [e.toJSON ? e.toJSON() : { message: e.message }] };
      }
      if (documents.size >= 500) documents.clear();
      documents.set(query, hit);
    }
    return hit;
  };

  const prepare = (req: SimRequest): Prepared | SimResponse => {
    const cached = req.locals[LOCALS_KEY] as Prepared | SimResponse | undefined;
    if (cached) return cached;
    let result: Prepared | SimResponse;
    const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | undefined;
    let variables: unknown = body?.variables;
    if (typeof variables === 'string' && variables.trim() !== '') {
      try {
        variables = JSON.parse(variables);
      } catch {
        variables = Symbol.for('invalid');
      }
    }
    if (
      !body ||
      typeof body !== 'object' ||
      Array.isArray(body) ||
      typeof body.query !== 'string' ||
      body.query.trim() === ''
    ) {
      result = { status: 400, json: { errors: [{ message: 'Must provide query string.' }] } };
    } else if (
      variables !== undefined &&
      variables !== null &&
      variables !== '' &&
      (typeof variables !== 'object' || Array.isArray(variables))
    ) {
      result = { status: 400, json: { errors: [{ message: 'Variables are invalid JSON.' }] } };
    } else if (
      body.operationName !== undefined &&
      body.operationName !== null &&
      typeof body.operationName !== 'string'
    ) {
      result = { status: 400, json: { errors: [{ message: 'operationName must be a string.' }] } };
    } else {
      const vars = (variables && typeof variables === 'object' ? variables : undefined) as
        Record<string, unknown> | undefined;
      const operationName = (body.operationName as string | null | undefined) ?? undefined;
      const parsed = parseCached(body.query);
      const info: GraphQLRequestInfo = parsed.document
        ? describe(parsed.document, operationName, vars ?? {})
        : {
            operationType: null,
            operationName: operationName ?? null,
            topLevelFields: [],
            calls: [],
            syntaxError: parsed.errors[0]?.message,
          };
      result = {
        query: body.query,
        variables: vars,
        operationName,
        document: parsed.document,
        syntaxErrors: parsed.errors,
        info,
      };
      req.annotate({ graphql: info });
    }
    req.locals[LOCALS_KEY] = result;
    return result;
  };

  const classify: RateClassifier = (req) => {
    const prepared = prepare(req);
    return 'info' in prepared && prepared.info.operationType === 'mutation' ? 'write' : 'read';
  };

  const handler: RouteHandler = async (req) => {
    const prepared = prepare(req);
    if (!('info' in prepared)) return prepared;
    const errorStatus = options.requestErrorStatus();
    if (!prepared.document) return { status: errorStatus, json: { errors: prepared.syntaxErrors } };
    let validationErrors = validated.get(prepared.document);
    if (!validationErrors) {
      validationErrors = validate(options.schema, prepared.document).map((e) => e.toJSON());
      validated.set(prepared.document, validationErrors);
    }
    if (validationErrors.length > 0) return { status: errorStatus, json: { errors: validationErrors } };
    const result = await execute({
      schema: options.schema,
      document: prepared.document,
      variableValues: prepared.variables,
      operationName: prepared.operationName,
      contextValue: options.context(),
    });
    const json: { data?: unknown; errors?: GraphQLFormattedError[] } = {};
    if (result.errors && result.errors.length > 0) json.errors = result.errors.map((e) => e.toJSON());
    // No `data` key at all means the request failed before execution (unknown operation, bad variables).
    if (!('data' in result) || result.data === undefined) return { status: errorStatus, json };
    json.data = result.data;
    return { status: 200, json: { data: json.data, ...(json.errors ? { errors: json.errors } : {}) } };
  };

  return { handler, classify };
}
