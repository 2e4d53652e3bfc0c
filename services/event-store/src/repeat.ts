/**
 * Runs `tick` every intervalMs, one at a time (the next waits for the last to finish); `stop` waits for a tick in
 * progress. `tick` is told whether a stop was asked, so a long tick can end early; it must handle its own errors.
 */
export function repeatEvery(
  intervalMs: number,
  tick: (stopping: () => boolean) => Promise<void>,
): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick(() => stopped).then(schedule);
    }, intervalMs);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
