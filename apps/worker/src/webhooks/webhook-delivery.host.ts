import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { WebhookDeliveryPump } from '@app/webhooks';

/**
 * Runs the delivery pump while the worker runs. On shutdown it stops claiming, lets the attempts
 * in flight finish and writes their outcomes; anything cut short is claimed again once its lease
 * runs out.
 */
@Injectable()
export class WebhookDeliveryHost implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(WebhookDeliveryPump) private readonly pump: WebhookDeliveryPump) {}

  onApplicationBootstrap(): void {
    this.pump.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pump.stop();
  }
}
