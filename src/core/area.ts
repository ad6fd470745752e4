import type { z } from 'zod';
import type { SessionChange, SessionData } from './engine.js';
import { InputError, WriteRefused } from './errors.js';
import { validateKey } from './values.js';

/** What a rule says when it refuses: the argument to blame and the rule, for BAD_USER_INPUT. */
export interface RefusalText {
  readonly argument: string;
  readonly rule: string;
}

/**
 * A named operation on one area's value.
 * - `input` checks what the caller passes and returns the rule's arguments:
 *   a function that throws InputError, or a zod schema (its first issue becomes
 *   InputError naming the argument by its path). Either way BAD_USER_INPUT,
 *   before anything is read or written.
 * - `apply` is the rule, a pure function: the new value, `undefined` to remove
 *   the key, or `refuse(code)`. The engine makes it atomic; it may run more
 *   than once (on a conflict), so it must not have side effects.
 * - `result` is what the caller gets back (default: the new value, viewed).
 */
export interface Operation<V, W, In, Args, Out, Code extends string> {
  input: ((input: In) => Args) | z.ZodType<Args, In>;
  apply: (value: V, args: Args, refuse: (code: Code) => WriteRefused) => V | undefined | WriteRefused;
  result?: (next: W, previous: W) => Out;
}

type AnyOperation = Operation<any, any, any, any, any, any>;

/** What an operation's caller passes. */
export type InputOf<O> = O extends { input: infer I }
  ? I extends (input: infer In) => unknown
    ? In
    : I extends z.ZodType<unknown, infer In>
      ? In
      : never
  : never;
/** What an operation's caller gets back: its `result`, else the area's value as readers see it. */
export type ResultOf<O> = O extends { result?: (next: never, previous: never) => infer Out } ? Out : never;

export interface AreaDefinition<V, W, Code extends string> {
  /** The session key the value is stored under. Keys starting with `_` are for built-in areas. */
  key: string;
  /**
   * The stored value's schema. A stored value that does not parse (an old
   * format, a hand-edited row) reads as the default rather than failing.
   */
  schema: z.ZodType<V>;
  /** The value when the key is absent. */
  default: V;
  /** What readers get: the stored value, viewed (defaults filled in, say). @default the value */
  view?: (value: V) => W;
  /** The codes `apply` may refuse with, and what each tells the client. */
  refusals?: Record<Code, RefusalText>;
}

/**
 * A session area: one key, its value's schema and default, and named
 * operations written as pure functions. From this one declaration it gets
 * input errors, atomic writes on every engine, the size limit, and (with
 * sessionql/pothos) its GraphQL fields. See src/areas/ for examples.
 */
export class Area<V, W, Code extends string, Ops extends Record<string, AnyOperation> = Record<never, never>> {
  readonly key: string;
  readonly operations: Ops;
  private readonly def: AreaDefinition<V, W, Code>;

  constructor(def: AreaDefinition<V, W, Code>, operations: Ops) {
    this.def = def;
    this.key = def.key;
    this.operations = operations;
  }

  /** Adds an operation; returns the area with it (declare all in one chain). */
  operation<const N extends string, In, Args, Out = W>(
    name: N,
    operation: Operation<V, W, In, Args, Out, Code>,
  ): Area<V, W, Code, Ops & Record<N, Operation<V, W, In, Args, Out, Code>>> {
    if (Object.hasOwn(this.operations, name)) throw new Error(`area "${this.key}": operation "${name}" is declared twice`);
    return new Area(this.def, { ...this.operations, [name]: operation } as Ops & Record<N, Operation<V, W, In, Args, Out, Code>>);
  }

  /** The stored value of this area in `data`: parsed, or the default. */
  value(data: SessionData): V {
    if (!Object.hasOwn(data, this.key)) return this.def.default;
    const parsed = this.def.schema.safeParse(data[this.key]);
    return parsed.success ? parsed.data : this.def.default;
  }

  /** What readers get from `data`. */
  read(data: SessionData): W {
    const value = this.value(data);
    return this.def.view ? this.def.view(value) : (value as unknown as W);
  }

  /** The refusal `code` stands for, as thrown to the caller. */
  refusal(code: Code): WriteRefused {
    const text = this.def.refusals?.[code];
    if (!text) throw new Error(`area "${this.key}": unknown refusal code ${code}`);
    return new WriteRefused(code, text.argument, text.rule);
  }

  /** Checks `input` as operation `name` would (InputError), without making a change: for checks before other work. */
  check<N extends keyof Ops & string>(name: N, input: InputOf<Ops[N]>): unknown {
    const operation = this.operations[name];
    if (!operation) throw new Error(`area "${this.key}" has no operation "${name}"`);
    return typeof operation.input === 'function' ? operation.input(input as never) : zodInput(operation.input)(input as never);
  }

  /**
   * The change `name` makes with `input`: the input checked now (InputError),
   * the rule applied by the engine. Absent stays absent: writing the default
   * to a key that is not set changes nothing (and so creates no session).
   */
  change(name: keyof Ops & string, input: unknown): SessionChange & { result(next: SessionData, previous: SessionData): unknown } {
    const operation = this.operations[name]!;
    const args = this.check(name, input as never) as Readonly<Record<string, unknown>>;
    const key = this.key;
    const refuse = (code: Code) => this.refusal(code);
    return {
      name: `${key}.${name}`,
      args,
      next: (data) => {
        const present = Object.hasOwn(data, key);
        const current = this.value(data);
        const next = operation.apply(current, args, refuse);
        if (next instanceof WriteRefused) return next;
        if (next === undefined) {
          if (!present) return data;
          const { [key]: _, ...rest } = data;
          return rest;
        }
        if (!present && JSON.stringify(next) === JSON.stringify(this.def.default)) return data;
        return { ...data, [key]: next };
      },
      result: (next, previous) => {
        const after = this.read(next);
        return operation.result ? operation.result(after, this.read(previous)) : after;
      },
    };
  }
}

/** Declares a session area; chain `.operation(name, { input, apply })` for each operation. */
export function defineArea<V, W = V, Code extends string = never>(definition: AreaDefinition<V, W, Code>): Area<V, W, Code> {
  if (!definition.key.startsWith('_')) validateKey(definition.key);
  else if (definition.key.length < 2) throw new Error('an area key must name something after "_"');
  const parsed = definition.schema.safeParse(definition.default);
  if (!parsed.success) throw new Error(`area "${definition.key}": the default does not match the schema`);
  return new Area(definition, {});
}

/**
 * An operation's `input` from a zod schema: its issues become InputError,
 * naming the argument by its path (`input.pageSize`) and the schema's message.
 */
export function zodInput<S extends z.ZodType>(schema: S, argumentPrefix = ''): (input: z.input<S>) => z.output<S> {
  return (input) => {
    const parsed = schema.safeParse(input);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw new InputError(argumentPrefix + (path || 'input'), issue.message);
  };
}
