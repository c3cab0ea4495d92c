import { z } from 'zod';
import { CurioError } from './errors';

/**
 * Configuration schemas, checked once at the edge (the retrain's validate stage, a CLI's flags): every
 * section of a retrain is a zod schema beside its defaults (models/config.ts, data/features.ts,
 * tagging/tagItems.ts, evaluation/abConfig.ts), and config/retrainConfig.ts composes them.
 */

export class ConfigError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'ConfigError', retryable: false });
  }
}

/** Each field of T with the schema that checks it: a schema that drifts from its interface fails to compile. */
export type SectionShape<T> = { [K in keyof T]-?: z.ZodType<T[K]> };

/**
 * A strict object schema whose every field defaults to `defaults`' value, so an override names only
 * what it changes and a key the section does not have is refused (a typo in the Start Workflow form
 * fails loudly instead of being ignored).
 */
export function section<T extends object>(shape: SectionShape<T>, defaults: T): z.ZodType<T, Partial<T> | undefined> {
  const fields: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(shape) as [string, z.ZodType][]) {
    const fallback = (defaults as Record<string, unknown>)[key];
    fields[key] = fallback === undefined ? schema : schema.default(() => structuredClone(fallback) as never);
  }
  return z.strictObject(fields).default(() => structuredClone(defaults) as never) as unknown as z.ZodType<T, Partial<T> | undefined>;
}

export const positiveInt = () => z.int({ error: 'must be a positive integer' }).min(1, { error: 'must be a positive integer' });
export const nonNegativeInt = () => z.int({ error: 'must be a non-negative integer' }).min(0, { error: 'must be a non-negative integer' });
export const positiveNumber = () => z.number({ error: 'must be > 0' }).gt(0, { error: 'must be > 0' });
export const nonNegativeNumber = () => z.number({ error: 'must be >= 0' }).min(0, { error: 'must be >= 0' });
export const flag = () => z.boolean({ error: 'must be true or false' });
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });

function shapeAt(schema: z.ZodType, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let node: unknown = schema;
  const unwrap = () => {
    for (let i = 0; i < 8 && node && typeof node === 'object' && !('shape' in node); i++) {
      const def = (node as { def?: { innerType?: unknown; in?: unknown } }).def;
      node = def?.innerType ?? def?.in;
    }
  };
  unwrap();
  for (const key of path) {
    node = (node as { shape?: Record<string, unknown> } | undefined)?.shape?.[String(key)];
    unwrap();
  }
  return (node as { shape?: Record<string, unknown> } | undefined)?.shape;
}

function describe(root: string, schema: z.ZodType, issue: z.core.$ZodIssue & { input?: unknown }): string[] {
  const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(shapeAt(schema, issue.path) ?? {});
    return issue.keys.map((k) => `${path ? `${path}.` : ''}${k} is not a setting${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
  const got = issue.input === undefined ? ' (missing)' : `, got ${JSON.stringify(issue.input)}`;
  return [`${path || 'the input'} ${issue.message}${got}`];
}

/**
 * Parses `value` with `schema`; every problem becomes one line "path reason, got value", joined into
 * one ConfigError (non-retryable: the same config fails the same way).
 */
export function parseConfig<T>(root: string, schema: z.ZodType<T, unknown>, value: unknown): T {
  const res = schema.safeParse(value, { reportInput: true });
  if (res.success) return res.data;
  const lines = res.error.issues.flatMap((issue) => describe(root, schema, issue));
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}
