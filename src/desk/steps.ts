/**
 * An ordered list of named steps. Each step reads what the steps before it produced and adds one
 * field under its own name, so the type of the result grows step by step and a step can only
 * use what an earlier step made. Running the list is plain: in order, one at a time.
 */
export class Steps<Ctx, In extends object, S extends object = In> {
  private constructor(private readonly list: ReadonlyArray<{ name: string; run: (s: never, ctx: Ctx) => unknown }>) {}

  /** An empty list over an input of type `In`. */
  static from<Ctx, In extends object>(): Steps<Ctx, In> {
    return new Steps<Ctx, In>([]);
  }

  then<K extends string, V>(name: K, run: (s: S, ctx: Ctx) => V | Promise<V>): Steps<Ctx, In, S & { readonly [P in K]: Awaited<V> }> {
    return new Steps<Ctx, In, S & { readonly [P in K]: Awaited<V> }>([...this.list, { name, run }]);
  }

  async run(input: In, ctx: Ctx): Promise<S> {
    const state = { ...input } as Record<string, unknown>;
    for (const step of this.list) state[step.name] = await (step.run as (s: object, ctx: Ctx) => unknown)(state, ctx);
    return state as S;
  }
}
