/** Turns a payload stored at `fromVersion` into the shape of `fromVersion + 1`. */
export type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>;

/**
 * Old event shapes are never rewritten in the log (it is immutable); they are upgraded on read,
 * one version step at a time, by the functions registered here.
 */
export class UpcasterRegistry {
  private readonly steps = new Map<string, Upcaster>();

  register(type: string, fromVersion: number, upcast: Upcaster): this {
    const key = `${type}@${fromVersion}`;
    if (this.steps.has(key)) throw new Error(`An upcaster for ${key} is already registered`);
    this.steps.set(key, upcast);
    return this;
  }

  upcast(
    type: string,
    schemaVersion: number,
    payload: Record<string, unknown>,
  ): { schemaVersion: number; payload: Record<string, unknown> } {
    let version = schemaVersion;
    let current = payload;
    for (
      let step = this.steps.get(`${type}@${version}`);
      step;
      step = this.steps.get(`${type}@${version}`)
    ) {
      current = step(current);
      version += 1;
    }
    return { schemaVersion: version, payload: current };
  }
}
