import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { WebhookDeliveryRelay } from '@app/webhooks';

/** Runs the delivery relay while the worker runs (its first pass re-adds anything Redis lost). */
@Injectable()
export class WebhookRelayHost implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(WebhookDeliveryRelay) private readonly relay: WebhookDeliveryRelay) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
