import { z } from 'zod';

/**
 * `after` and `limit` of a stream's history (`GET …/{idOrCode}/events`), cursor pagination as
 * the global feed has it, by stream version instead of global position. Without `limit` the
 * whole rest of the history is one page, as it was before these parameters existed.
 */
export const historyQuerySchema = z.strictObject({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('A stream version: only the events after it (0, the default: from the first).'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('At most this many events; absent, every event after `after`.'),
});

export type HistoryQuery = z.infer<typeof historyQuerySchema>;
