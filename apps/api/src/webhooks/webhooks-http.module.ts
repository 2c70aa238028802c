import { Module } from '@nestjs/common';
import { WebhooksModule } from '@app/webhooks';
import { WebhookSubscriptionsController } from './webhook-subscriptions.controller';

/** `/api/v1/webhook-subscriptions`: subscriptions, secrets, tests, the delivery log, replays. */
@Module({
  imports: [WebhooksModule],
  controllers: [WebhookSubscriptionsController],
})
export class WebhooksHttpModule {}
