import {
  type DocumentNode,
  defaultFieldResolver,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isAbstractType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  locatedError,
  type OperationDefinitionNode,
  responsePathAsArray,
  type SelectionSetNode,
  TypeNameMetaFieldDef,
  type ValueNode,
} from 'graphql';
import { tokenCount } from './document-cache.js';

/**
 * An operation planned ahead: the fields each selection set collects,
 * resolved against the schema once per document instead of on every request.
 *
 * graphql-js's `execute` collects the fields of every selection set again
 * for each request (a Map and a Set per object, a WeakMap per execution
 * for sub-selections), builds an argument map with a null prototype for
 * every field, even one without arguments, and returns result objects with
 * a null prototype (dictionary-mode objects, which JSON.stringify walks
 * slowly). Profiled on the fast lane's reads, that was 29 % of the bytes a
 * request allocates (docs/decisions/0022). With no abstract type and no
 * directive that depends on a variable, which fields run is known from the
 * document alone, so this executes the same algorithm over the plan.
 *
 * The results are graphql-js's, error for error: the same resolvers with the
 * same `args`, `info` and context, the same order of calls, null propagation
 * to the nearest nullable field, errors located at the same paths and
 * collected the same way (one per nulled position). test/unit/plan.test.ts
 * runs both executors on the same documents and compares answers and calls.
 * An operation the plan does not cover (`planOperation` returns null) goes
 * to graphql-js.
 */
export interface OperationPlan {
  readonly schema: GraphQLSchema;
  readonly operation: OperationDefinitionNode;
  readonly fields: readonly FieldPlan[];
  readonly serial: boolean;
  readonly fragments: Record<string, FragmentDefinitionNode>;
}

interface FieldPlan {
  readonly responseName: string;
  readonly fieldNodes: readonly FieldNode[];
  /** The first of fieldNodes: where its arguments are read. */
  readonly node: FieldNode;
  readonly def: GraphQLField<unknown, unknown>;
  readonly resolve: GraphQLFieldResolver<unknown, unknown>;
  readonly parentType: GraphQLObjectType;
  /**
   * The field's arguments when the document alone fixes them (none declared,
   * or literals that coerce to strings, numbers, booleans and nulls): each
   * call gets a copy. Else null: coerced on each call, as graphql-js does.
   */
  readonly fixedArgs: Readonly<Record<string, unknown>> | null;
  /** The sub-selection's fields, when the named return type is an object type. */
  readonly sub: readonly FieldPlan[] | null;
}

/**
 * Fields planned per operation at most: a larger plan is left to graphql-js.
 * Also at most one field per token of the document: fragments spread under
 * several parents can plan more fields than the text has, and the document
 * caches weigh a document by its tokens (512 B each), which then covers its
 * plan too (measured: about 240 B per planned field; docs/security.md).
 */
const MAX_PLANNED_FIELDS = 2000;

class Unplannable extends Error {}

/**
 * The plan of `operation`, or null when graphql-js must run it: a
 * subscription, introspection (`__schema`, `__type`), an abstract type, an
 * object type with `isTypeOf`, `@skip`/`@include` on a variable, a response
 * named `__proto__`, or more fields than MAX_PLANNED_FIELDS or than the
 * document has tokens. The document
 * must have passed validation.
 */
export function planOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): OperationPlan | null {
  if (operation.operation === 'subscription') return null;
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return null;
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  let budget = Math.min(MAX_PLANNED_FIELDS, tokenCount(document) ?? MAX_PLANNED_FIELDS);

  /** The fields `sets` collect on `type`, in graphql-js's collectFields order. */
  function collect(type: GraphQLObjectType, sets: readonly SelectionSetNode[]): Map<string, FieldNode[]> {
    const fields = new Map<string, FieldNode[]>();
    const visited = new Set<string>();
    const walk = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (!included(selection.directives)) continue;
        if (selection.kind === Kind.FIELD) {
          const name = selection.alias?.value ?? selection.name.value;
          const list = fields.get(name);
          if (list) list.push(selection);
          else fields.set(name, [selection]);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          if (!applies(selection.typeCondition?.name.value, type)) continue;
          walk(selection.selectionSet);
        } else {
          const name = selection.name.value;
          if (visited.has(name)) continue;
          visited.add(name);
          const fragment = fragments[name];
          if (!fragment || !applies(fragment.typeCondition.name.value, type)) continue;
          walk(fragment.selectionSet);
        }
      }
    };
    for (const set of sets) walk(set);
    return fields;
  }

  function applies(condition: string | undefined, type: GraphQLObjectType): boolean {
    if (condition === undefined) return true;
    const conditionType = schema.getType(condition);
    if (conditionType === type) return true;
    return !!conditionType && isAbstractType(conditionType) && schema.isSubType(conditionType, type);
  }

  function plan(type: GraphQLObjectType, sets: readonly SelectionSetNode[]): FieldPlan[] {
    if (type.isTypeOf) throw new Unplannable();
    const planned: FieldPlan[] = [];
    for (const [responseName, fieldNodes] of collect(type, sets)) {
      if (responseName === '__proto__' || --budget < 0) throw new Unplannable();
      const node = fieldNodes[0] as FieldNode; // collect() makes no empty list
      const name = node.name.value;
      // graphql-js's own field for __typename (String!, resolved from info.parentType).
      const def = name === TypeNameMetaFieldDef.name ? TypeNameMetaFieldDef : type.getFields()[name];
      if (!def) throw new Unplannable(); // __schema, __type, or a field validation would have refused
      const named = getNamedType(def.type);
      if (isAbstractType(named)) throw new Unplannable();
      let sub: FieldPlan[] | null = null;
      if (isObjectType(named)) {
        const subSets: SelectionSetNode[] = [];
        for (const node of fieldNodes) if (node.selectionSet) subSets.push(node.selectionSet);
        sub = plan(named, subSets);
      }
      planned.push({
        responseName,
        fieldNodes,
        node,
        def,
        resolve: def.resolve ?? defaultFieldResolver,
        parentType: type,
        fixedArgs: fixedArguments(def, node),
        sub,
      });
    }
    return planned;
  }

  try {
    const fields = plan(rootType, [operation.selectionSet]);
    return { schema, operation, fields, serial: operation.operation === 'mutation', fragments };
  } catch (error) {
    if (error instanceof Unplannable) return null;
    throw error;
  }
}

const NO_ARGUMENTS: Readonly<Record<string, unknown>> = Object.freeze({});

/** See FieldPlan.fixedArgs. */
function fixedArguments(def: GraphQLField<unknown, unknown>, node: FieldNode): Readonly<Record<string, unknown>> | null {
  if (def.args.length === 0) return NO_ARGUMENTS;
  if (node.arguments?.some((argument) => usesVariable(argument.value))) return null;
  let values: Record<string, unknown>;
  try {
    values = getArgumentValues(def, node, {});
  } catch {
    return null; // the error belongs to each execution, as graphql-js reports it
  }
  for (const value of Object.values(values)) if (value !== null && typeof value === 'object') return null;
  return values;
}

function usesVariable(value: ValueNode): boolean {
  if (value.kind === Kind.VARIABLE) return true;
  if (value.kind === Kind.LIST) return value.values.some(usesVariable);
  if (value.kind === Kind.OBJECT) return value.fields.some((field) => usesVariable(field.value));
  return false;
}

/** @skip and @include with literal arguments; on a variable the plan is refused. */
function included(directives: FieldNode['directives']): boolean {
  if (!directives?.length) return true;
  for (const directive of directives) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const argument = directive.arguments?.find((a) => a.name.value === 'if');
    const value: ValueNode | undefined = argument?.value;
    if (value?.kind !== Kind.BOOLEAN) throw new Unplannable();
    if (name === 'skip' && value.value) return false;
    if (name === 'include' && !value.value) return false;
  }
  return true;
}

/** A response path, as graphql-js's Path. */
interface Path {
  readonly prev: Path | undefined;
  readonly key: string | number;
  readonly typename: string | undefined;
}

interface Run {
  plan: OperationPlan;
  contextValue: unknown;
  variableValues: Record<string, unknown>;
  /** Positions nulled by an error (undefined: the whole data); made at the first error. */
  errorPositions?: Set<Path | undefined>;
  errors: GraphQLError[];
}

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof (value as { then?: unknown } | null | undefined)?.then === 'function';

function addError(run: Run, error: GraphQLError, path: Path | undefined): void {
  run.errorPositions ??= new Set();
  const nulled = run.errorPositions;
  for (let at = path; at !== undefined; at = at.prev) if (nulled.has(at)) return;
  if (nulled.has(undefined)) return;
  nulled.add(path);
  run.errors.push(error);
}

/**
 * Executes a planned operation as graphql-js's `execute` would, with no root
 * value: variables coerced first (their errors are the whole answer), then
 * the root fields (one after another for a mutation).
 */
export function executePlan(
  plan: OperationPlan,
  contextValue: unknown,
  inputs: Record<string, unknown> | undefined,
): ExecutionResult | Promise<ExecutionResult> {
  let variableValues: Record<string, unknown> = {};
  if (plan.operation.variableDefinitions?.length) {
    const coerced = getVariableValues(plan.schema, plan.operation.variableDefinitions, inputs ?? {}, { maxErrors: 50 });
    if (coerced.errors) return { errors: coerced.errors };
    variableValues = coerced.coerced;
  }
  const run: Run = { plan, contextValue, variableValues, errors: [] };
  const respond = (data: Record<string, unknown> | null): ExecutionResult =>
    run.errors.length === 0 ? { data } : { errors: run.errors, data };
  const fail = (error: unknown) => {
    addError(run, error as GraphQLError, undefined);
    return respond(null);
  };
  try {
    const data = plan.serial ? executeSerially(run, plan.fields) : executeFields(run, undefined, undefined, plan.fields);
    return isPromise(data) ? data.then(respond, fail) : respond(data);
  } catch (error) {
    return fail(error);
  }
}

function executeSerially(run: Run, fields: readonly FieldPlan[]): Record<string, unknown> | Promise<Record<string, unknown>> {
  let results: Record<string, unknown> | Promise<Record<string, unknown>> = {};
  for (const field of fields) {
    const step = (done: Record<string, unknown>): Record<string, unknown> | Promise<Record<string, unknown>> => {
      const value = executeField(run, undefined, { prev: undefined, key: field.responseName, typename: field.parentType.name }, field);
      if (isPromise(value)) {
        return value.then((resolved) => {
          done[field.responseName] = resolved;
          return done;
        });
      }
      done[field.responseName] = value;
      return done;
    };
    results = isPromise(results) ? (results as Promise<Record<string, unknown>>).then(step) : step(results);
  }
  return results;
}

function executeFields(
  run: Run,
  source: unknown,
  path: Path | undefined,
  fields: readonly FieldPlan[],
): Record<string, unknown> | Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  let containsPromise = false;
  try {
    for (const field of fields) {
      const value = executeField(run, source, { prev: path, key: field.responseName, typename: field.parentType.name }, field);
      results[field.responseName] = value;
      if (isPromise(value)) containsPromise = true;
    }
  } catch (error) {
    // As graphql-js: the promises already started are settled before the error goes up.
    if (containsPromise) {
      return settleAll(results).finally(() => {
        throw error;
      });
    }
    throw error;
  }
  return containsPromise ? settleAll(results) : results;
}

function settleAll(object: Record<string, unknown>): Promise<Record<string, unknown>> {
  const keys = Object.keys(object);
  return Promise.all(Object.values(object)).then((values) => {
    const resolved: Record<string, unknown> = {};
    keys.forEach((key, i) => {
      resolved[key] = values[i];
    });
    return resolved;
  });
}

function executeField(run: Run, source: unknown, path: Path, field: FieldPlan): unknown {
  const info: GraphQLResolveInfo = {
    fieldName: field.def.name,
    fieldNodes: field.fieldNodes,
    returnType: field.def.type,
    parentType: field.parentType,
    path,
    schema: run.plan.schema,
    fragments: run.plan.fragments,
    rootValue: undefined,
    operation: run.plan.operation,
    variableValues: run.variableValues,
  };
  try {
    const args = field.fixedArgs ? { ...field.fixedArgs } : getArgumentValues(field.def, field.node, run.variableValues);
    const result = field.resolve(source, args, run.contextValue, info);
    const completed = isPromise(result)
      ? result.then((resolved) => completeValue(run, field, field.def.type, info, path, resolved))
      : completeValue(run, field, field.def.type, info, path, result);
    if (isPromise(completed)) {
      return completed.then(undefined, (raw) => fieldError(run, raw, field, field.def.type, path));
    }
    return completed;
  } catch (raw) {
    return fieldError(run, raw, field, field.def.type, path);
  }
}

function fieldError(run: Run, raw: unknown, field: FieldPlan, type: GraphQLOutputType, path: Path): null {
  const error = locatedError(raw, field.fieldNodes, responsePathAsArray(path));
  if (isNonNullType(type)) throw error;
  addError(run, error, path);
  return null;
}

function completeValue(
  run: Run,
  field: FieldPlan,
  type: GraphQLOutputType,
  info: GraphQLResolveInfo,
  path: Path,
  result: unknown,
): unknown {
  if (result instanceof Error) throw result;
  if (isNonNullType(type)) {
    const completed = completeValue(run, field, type.ofType, info, path, result);
    if (completed === null) throw new Error(`Cannot return null for non-nullable field ${info.parentType.name}.${info.fieldName}.`);
    return completed;
  }
  if (result == null) return null;
  if (isListType(type)) return completeList(run, field, type.ofType, info, path, result);
  if (isLeafType(type)) {
    const serialized = type.serialize(result);
    if (serialized == null) {
      throw new Error(
        `Expected \`${type.name}.serialize(${describe(result)})\` to return non-nullable value, returned: ${describe(serialized)}`,
      );
    }
    return serialized;
  }
  // An object type (planOperation refuses abstract ones and isTypeOf).
  return executeFields(run, result, path, field.sub as FieldPlan[]);
}

function completeList(
  run: Run,
  field: FieldPlan,
  itemType: GraphQLOutputType,
  info: GraphQLResolveInfo,
  path: Path,
  result: unknown,
): unknown {
  if (typeof result !== 'object' || typeof (result as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new GraphQLError(`Expected Iterable, but did not find one for field "${info.parentType.name}.${info.fieldName}".`);
  }
  let containsPromise = false;
  const completed = Array.from(result as Iterable<unknown>, (item, index) => {
    const itemPath: Path = { prev: path, key: index, typename: undefined };
    try {
      const value = isPromise(item)
        ? item.then((resolved) => completeValue(run, field, itemType, info, itemPath, resolved))
        : completeValue(run, field, itemType, info, itemPath, item);
      if (isPromise(value)) {
        containsPromise = true;
        return value.then(undefined, (raw) => fieldError(run, raw, field, itemType, itemPath));
      }
      return value;
    } catch (raw) {
      return fieldError(run, raw, field, itemType, itemPath);
    }
  });
  return containsPromise ? Promise.all(completed) : completed;
}

/** A value in an error message, as graphql-js's inspect writes the common cases. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return value.name ? `[function ${value.name}]` : '[function]';
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[object]';
  }
}
