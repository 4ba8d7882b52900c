// A small command-line parser: each command declares its options (name, kind, short alias,
// default) and gets back typed values or a UsageError naming the bad argument. Our own rather
// than a dependency because the CLI ships inside the extension and needs only this much.

/** An error in how the command was called: printed without a stack trace, exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionKind = 'string' | 'int' | 'number' | 'flag';

export interface OptionSpec {
  kind: OptionKind;
  /** One-letter or short alias, written with its dash: '-n'. */
  alias?: string;
  /** Inclusive bounds for 'int' and 'number'. */
  min?: number;
  max?: number;
  required?: boolean;
  /** A 'string' option that may be given several times; read with Args.strings(). */
  repeatable?: boolean;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  options: Record<string, string | string[] | number | boolean | undefined>;
  positional: string[];
}

function parseNumber(name: string, spec: OptionSpec, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} expects a number, got '${raw}'`);
  if (spec.kind === 'int' && !Number.isInteger(value)) throw new UsageError(`--${name} expects an integer, got '${raw}'`);
  if (spec.min !== undefined && value < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, got ${raw}`);
  if (spec.max !== undefined && value > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, got ${raw}`);
  return value;
}

/** Parses argv (without the command name) against `specs`. Accepts --name value and --name=value. */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const byAlias = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.alias) byAlias.set(spec.alias, name);
  const options: ParsedArgs['options'] = {};
  const positional: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    let key = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      key = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    }
    const name = key.startsWith('--') ? key.slice(2) : byAlias.get(key);
    const spec = name !== undefined ? specs[name] : undefined;
    if (name === undefined || !spec) throw new UsageError(`unknown option '${key}'`);
    if (spec.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === 'string' && spec.repeatable) {
      const list = options[name];
      options[name] = Array.isArray(list) ? [...list, raw] : [raw];
      continue;
    }
    options[name] = spec.kind === 'string' ? raw : parseNumber(name, spec, raw);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && options[name] === undefined) throw new UsageError(`missing required option --${name}`);
  }
  return { options, positional };
}

/** Typed accessors over ParsedArgs, so commands read `args.int('threads', 0)`. */
export class Args {
  constructor(private readonly parsed: ParsedArgs) {}

  get positional(): string[] {
    return this.parsed.positional;
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const v = this.parsed.options[name];
    return typeof v === 'string' ? v : fallback;
  }

  /** Every value of a repeatable option, in order (empty when not given). */
  strings(name: string): string[] {
    const v = this.parsed.options[name];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  int(name: string): number | undefined;
  int(name: string, fallback: number): number;
  int(name: string, fallback?: number): number | undefined {
    const v = this.parsed.options[name];
    return typeof v === 'number' ? v : fallback;
  }

  number(name: string): number | undefined;
  number(name: string, fallback: number): number;
  number(name: string, fallback?: number): number | undefined {
    return this.int(name, fallback as number);
  }

  flag(name: string): boolean {
    return this.parsed.options[name] === true;
  }
}

/** One line per option, for `qwen-local help <command>`. */
export function describeOptions(specs: OptionSpecs): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const head = `  --${name}${s.alias ? `, ${s.alias}` : ''}${s.kind === 'flag' ? '' : ` <${s.kind === 'string' ? 'value' : s.kind}>`}`;
      return `${head.padEnd(30)} ${s.description}${s.required ? ' (required)' : ''}${s.repeatable ? ' (repeatable)' : ''}`;
    })
    .join('\n');
}
