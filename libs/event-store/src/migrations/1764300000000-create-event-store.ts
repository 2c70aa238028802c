import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log, its streams, the command-id claims and the consumers' checkpoints.
 *
 * Ordering: `position` comes from a sequence, so a transaction can commit after one that drew a
 * later number. `accord_append` takes its transaction id before it draws a position; the reader
 * (EventStore.readAll) relies on that to tell a number still in flight from one rolled back
 * (see the comment there).
 */
export class CreateEventStore1764300000000 implements MigrationInterface {
  name = 'CreateEventStore1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE SEQUENCE event_position_seq AS bigint;

      CREATE TABLE event_streams (
        stream_id text PRIMARY KEY,
        version bigint NOT NULL CHECK (version > 0),
        last_hash bytea NOT NULL
      );

      CREATE TABLE events (
        position bigint PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        stream_id text NOT NULL,
        version bigint NOT NULL CHECK (version > 0),
        type text NOT NULL,
        schema_version integer NOT NULL CHECK (schema_version > 0),
        payload jsonb NOT NULL,
        metadata jsonb NOT NULL,
        command_id text,
        recorded_at timestamptz NOT NULL,
        transaction_id xid8 NOT NULL,
        prev_hash bytea NOT NULL,
        hash bytea NOT NULL,
        UNIQUE (stream_id, version)
      );
      CREATE INDEX events_command_id_idx ON events (command_id) WHERE command_id IS NOT NULL;
      CREATE INDEX events_recorded_at_idx ON events (recorded_at);

      -- One row per command id: the claim that makes a retried command a no-op.
      CREATE TABLE event_commands (
        command_id text PRIMARY KEY,
        stream_id text NOT NULL,
        recorded_at timestamptz NOT NULL
      );

      CREATE TABLE subscription_checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      -- Immutability lives in the database, not in the code: even a superuser connection that
      -- owns the table is refused (only disabling the trigger, an audited DDL act, gets past it).
      CREATE FUNCTION accord_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'accord: % on % is not allowed: stored events are immutable', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'AC100';
      END $$;
      CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION accord_refuse_change();
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION accord_refuse_change();
      CREATE TRIGGER event_commands_immutable BEFORE UPDATE OR DELETE ON event_commands
        FOR EACH ROW EXECUTE FUNCTION accord_refuse_change();
      CREATE TRIGGER event_commands_no_truncate BEFORE TRUNCATE ON event_commands
        FOR EACH STATEMENT EXECUTE FUNCTION accord_refuse_change();

      -- The text a link of the hash chain covers; verify recomputes it outside the database.
      CREATE FUNCTION accord_event_digest_input(
        p_prev_hash bytea, p_stream_id text, p_version bigint, p_event_id uuid, p_type text,
        p_schema_version integer, p_payload jsonb, p_metadata jsonb, p_recorded_at timestamptz
      ) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
        SELECT p_prev_hash || convert_to(concat_ws(E'\\n',
          p_stream_id, p_version::text, p_event_id::text, p_type, p_schema_version::text,
          p_payload::text, p_metadata::text,
          (extract(epoch FROM p_recorded_at) * 1000000)::bigint::text), 'UTF8')
      $$;

      -- Appends one batch to one stream in one round trip and one transaction.
      -- p_expected_version: NULL = any, 0 = the stream must not exist, n = exactly n.
      -- p_events: [{eventId, type, schemaVersion, payload, metadata}].
      CREATE FUNCTION accord_append(
        p_stream_id text, p_expected_version bigint, p_command_id text, p_events jsonb
      ) RETURNS jsonb LANGUAGE plpgsql AS $$
      DECLARE
        v_count integer := jsonb_array_length(p_events);
        v_now timestamptz := now();
        v_version bigint;
        v_prev_hash bytea;
        v_positions bigint[];
        v_event jsonb;
        v_hashes bytea[] := '{}';
        v_hash bytea;
        v_i integer;
      BEGIN
        IF v_count = 0 THEN
          RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'AC002';
        END IF;
        -- The transaction id is taken before any position is drawn: readAll depends on it.
        PERFORM pg_current_xact_id();

        IF p_command_id IS NOT NULL THEN
          INSERT INTO event_commands (command_id, stream_id, recorded_at)
          VALUES (p_command_id, p_stream_id, v_now) ON CONFLICT DO NOTHING;
          IF NOT FOUND THEN
            RETURN (
              SELECT jsonb_build_object(
                'streamId', min(stream_id), 'fromVersion', min(version), 'toVersion', max(version),
                'positions', jsonb_agg(position ORDER BY position),
                'eventIds', jsonb_agg(event_id ORDER BY position), 'duplicate', true)
              FROM events WHERE command_id = p_command_id);
          END IF;
        END IF;

        SELECT version, last_hash INTO v_version, v_prev_hash
          FROM event_streams WHERE stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND THEN
          v_version := 0;
          v_prev_hash := '\\x'::bytea;
        END IF;
        IF p_expected_version IS NOT NULL AND v_version <> p_expected_version THEN
          RAISE EXCEPTION 'wrong expected version for stream %', p_stream_id
            USING ERRCODE = 'AC001', DETAIL = v_version::text;
        END IF;

        SELECT array_agg(nextval('event_position_seq')) INTO v_positions
          FROM generate_series(1, v_count);
        FOR v_i IN 1..v_count LOOP
          v_event := p_events -> (v_i - 1);
          v_hash := sha256(accord_event_digest_input(
            v_prev_hash, p_stream_id, v_version + v_i, (v_event ->> 'eventId')::uuid,
            v_event ->> 'type', (v_event ->> 'schemaVersion')::integer, v_event -> 'payload',
            v_event -> 'metadata', v_now));
          INSERT INTO events (position, event_id, stream_id, version, type, schema_version, payload,
                              metadata, command_id, recorded_at, transaction_id, prev_hash, hash)
          VALUES (v_positions[v_i], (v_event ->> 'eventId')::uuid, p_stream_id, v_version + v_i,
                  v_event ->> 'type', (v_event ->> 'schemaVersion')::integer, v_event -> 'payload',
                  v_event -> 'metadata', p_command_id, v_now, pg_current_xact_id(),
                  v_prev_hash, v_hash);
          v_prev_hash := v_hash;
        END LOOP;

        IF v_version = 0 THEN
          INSERT INTO event_streams (stream_id, version, last_hash)
          VALUES (p_stream_id, v_count, v_prev_hash);
        ELSE
          UPDATE event_streams SET version = v_version + v_count, last_hash = v_prev_hash
          WHERE stream_id = p_stream_id;
        END IF;

        RETURN jsonb_build_object(
          'streamId', p_stream_id, 'fromVersion', v_version + 1, 'toVersion', v_version + v_count,
          'positions', to_jsonb(v_positions),
          'eventIds', (SELECT jsonb_agg(e ->> 'eventId') FROM jsonb_array_elements(p_events) e),
          'duplicate', false);
      END $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION accord_append(text, bigint, text, jsonb);
      DROP FUNCTION accord_event_digest_input(bytea, text, bigint, uuid, text, integer, jsonb, jsonb, timestamptz);
      DROP TABLE subscription_checkpoints;
      DROP TABLE event_commands;
      DROP TABLE events;
      DROP FUNCTION accord_refuse_change();
      DROP TABLE event_streams;
      DROP SEQUENCE event_position_seq;
    `);
  }
}
