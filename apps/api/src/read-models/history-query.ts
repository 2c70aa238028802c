import { z } from 'zod';
import { wholeNumberQuery } from './query-values';

/**
 * `after` and `limit` of a stream's history (`GET …/{idOrCode}/events`), cursor pagination as
 * the global feed has it, by stream version instead of global position. Without `limit` the
 * whole rest of the history is one page, as it was before these parameters existed.
 */
export const historyQuerySchema = z.strictObject({
  after: wholeNumberQuery(0, undefined, 0).describe(
    'A stream version: only the events after it (0, the default: from the first).',
  ),
  limit: wholeNumberQuery(1, 1000)
    .optional()
    .describe('At most this many events; absent, every event after `after`.'),
});

export type HistoryQuery = z.infer<typeof historyQuerySchema>;
