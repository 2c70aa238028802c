import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EventStore } from '@app/event-store';
import { z } from 'zod';
import { Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { wholeNumberQuery } from '../read-models/query-values';

const feedQuery = z.strictObject({
  after: wholeNumberQuery(0, undefined, 0).describe(
    'A global position: only the events after it (0, the default: from the first).',
  ),
  limit: wholeNumberQuery(1, 1000, 100).describe('At most this many events, 1–1000 (default 100).'),
});

/**
 * The global event feed in position order. It never passes an event whose transaction may
 * still commit, so a client following `nextCursor` misses nothing.
 */
@ApiTags('events')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/events')
export class EventsFeedController {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  @Get()
  @ApiOperation({ summary: 'The global event feed after a position' })
  @ApiJsonResponse('EventFeed', 'Events after `after`, in position order.')
  async feed(@Query(new ZodPipe(feedQuery)) query: z.infer<typeof feedQuery>) {
    const page = await this.store.readAll(query.after, query.limit);
    return {
      items: page.events.map((event) => ({
        position: event.position,
        eventId: event.eventId,
        streamId: event.streamId,
        version: event.version,
        type: event.type,
        schemaVersion: event.schemaVersion,
        recordedAt: event.recordedAt.toISOString(),
        effectiveAt: (event.payload.effectiveAt as string | undefined) ?? null,
        actor: event.metadata.actor ?? null,
        data: event.payload,
      })),
      nextCursor: page.nextAfter,
    };
  }
}
