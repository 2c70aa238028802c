import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook subscriptions, their deliveries and every attempt (SPEC §3). The deliveries table is
 * the truth; BullMQ jobs only carry it out, and the relay re-creates any job Redis lost.
 *
 * Secrets are stored as given: an HMAC needs the secret itself, not a hash of it. They leave the
 * database only to sign a request and in the answers to creation and rotation.
 */
export class CreateWebhooks1764400000000 implements MigrationInterface {
  name = 'CreateWebhooks1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_subscriptions (
        id uuid PRIMARY KEY,
        url text NOT NULL,
        description text NOT NULL DEFAULT '',
        event_types text[] NOT NULL,
        filters jsonb NOT NULL DEFAULT '{}',
        lead_times text[] NOT NULL DEFAULT '{}',
        format text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'cloudevents')),
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        disabled_at timestamptz,
        consecutive_failures integer NOT NULL DEFAULT 0,
        failing_since timestamptz,
        secret text NOT NULL,
        previous_secret text,
        previous_secret_expires_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX webhook_subscriptions_created_idx ON webhook_subscriptions (created_at, id);

      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        webhook_id text NOT NULL,
        message_key text NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        deadline timestamptz,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed', 'cancelled')),
        attempts integer NOT NULL DEFAULT 0,
        run_started_at timestamptz NOT NULL,
        run_attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        relayed_at timestamptz,
        last_status_code integer,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (subscription_id, webhook_id)
      );
      CREATE INDEX webhook_deliveries_to_relay_idx ON webhook_deliveries (created_at)
        WHERE status = 'pending' AND relayed_at IS NULL;
      CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (next_attempt_at)
        WHERE status IN ('pending', 'delivering');
      CREATE INDEX webhook_deliveries_subscription_idx
        ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
      CREATE INDEX webhook_deliveries_message_idx ON webhook_deliveries (message_key);

      CREATE TABLE webhook_attempts (
        id bigserial PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempted_at timestamptz NOT NULL,
        status_code integer,
        latency_ms integer NOT NULL,
        error text,
        response_body text
      );
      CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempted_at);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP TABLE webhook_attempts, webhook_deliveries, webhook_subscriptions',
    );
  }
}
