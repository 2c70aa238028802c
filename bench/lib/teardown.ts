/**
 * What a benchmark must undo however it ends (servers, child processes, databases), run in
 * reverse order on completion or on Ctrl-C / SIGTERM.
 */
export class Teardown {
  private readonly steps: { label: string; run: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  constructor() {
    // `on`, not `once`: a second signal (Ctrl-C pressed again, or re-raised by a shutdown hook)
    // must not end the process before the databases are dropped.
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.running) return;
      console.error(`\n${signal}: cleaning up`);
      void this.run().finally(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  /** Registers a step; the function returned runs it now instead (and only then). */
  add(label: string, run: () => unknown): () => Promise<void> {
    const step = { label, run };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index < 0) return;
      this.steps.splice(index, 1);
      await step.run();
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.run();
        } catch (error) {
          console.error(`cleanup (${step.label}) failed:`, error);
        }
      }
    })();
    return this.running;
  }
}
