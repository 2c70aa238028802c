import type { ReadYourWrites } from '@app/projections';
import { ApiProblem } from '../http';

/**
 * Read your writes: a read with `minPosition` waits until the read models it answers from have
 * reached it. Not reached in time, a 503 `not-caught-up` a retry may get past; a position no
 * event has yet (a write never answered with it), a 400 at once, naming the log's head: waiting
 * or retrying cannot help.
 */
export async function awaitMinPosition(
  readYourWrites: ReadYourWrites,
  minPosition: number | undefined,
  projections: string[],
): Promise<void> {
  if (minPosition === undefined) return;
  const wait = await readYourWrites.waitFor(minPosition, projections);
  switch (wait.outcome) {
    case 'reached':
      return;
    case 'timed-out':
      throw notCaughtUp(minPosition);
    case 'beyond-head':
      throw beyondHead(minPosition, wait.head);
    default: {
      const unreachable: never = wait;
      return unreachable;
    }
  }
}

function notCaughtUp(minPosition: number): ApiProblem {
  return new ApiProblem(
    503,
    'not-caught-up',
    'Read model not caught up',
    `The read model has not reached position ${minPosition} yet; retry shortly.`,
    { minPosition },
    { 'retry-after': '1' },
  );
}

function beyondHead(minPosition: number, head: number): ApiProblem {
  return new ApiProblem(
    400,
    'min-position-beyond-head',
    'Position beyond the head of the log',
    `No event has position ${minPosition}: the log's head is at ${head}. Pass the position a ` +
      'write answered with.',
    { minPosition, head },
  );
}
