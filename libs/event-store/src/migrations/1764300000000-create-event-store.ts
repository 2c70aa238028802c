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

      CREATE TABLE events (
        position bigint PRIMARY KEY,
        event_id uuid NOT NULL,
        stream_id text NOT NULL,
        version bigint NOT NULL CHECK (version > 0),
        type text NOT NULL,
        schema_version integer NOT NULL CHECK (schema_version > 0),
        payload jsonb NOT NULL,
        metadata jsonb NOT NULL,
        recorded_at timestamptz NOT NULL,
        transaction_id xid8 NOT NULL,
        prev_hash bytea NOT NULL,
        hash bytea NOT NULL,
        UNIQUE (stream_id, version)
      );

      -- One row per command id: the claim that makes a retried command a no-op, and where its
      -- events are (positions are drawn before this row is written).
      CREATE TABLE event_commands (
        command_id text PRIMARY KEY,
        stream_id text NOT NULL,
        first_position bigint NOT NULL,
        last_position bigint NOT NULL
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

      -- Appends one batch to one stream in one round trip and one transaction.
      -- p_expected_version: NULL = any, 0 = the stream must not exist, n = exactly n.
      -- p_events: [{eventId, type, schemaVersion, payload, metadata}].
      -- Errors: AC001 wrong expected version (DETAIL = actual version); AC004 the same command id
      -- committed concurrently (the caller then returns that first result).
      CREATE FUNCTION accord_append(
        p_stream_id text, p_expected_version bigint, p_command_id text, p_events jsonb
      ) RETURNS jsonb LANGUAGE plpgsql AS $$
      DECLARE
        v_count integer := jsonb_array_length(p_events);
        -- Milliseconds, the precision clients see: an event is known at the recordedAt the API
        -- reports for it, not a fraction of a millisecond later.
        v_now timestamptz := date_trunc('milliseconds', now());
        v_micros text := (extract(epoch FROM v_now) * 1000000)::bigint::text;
        v_version bigint;
        v_prev_hash bytea;
        v_positions bigint[];
        v_event jsonb;
        v_hash bytea;
        v_i integer;
      BEGIN
        IF v_count = 0 THEN
          RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'AC002';
        END IF;
        -- A retried command returns its first result before anything else is checked.
        IF p_command_id IS NOT NULL AND EXISTS (
          SELECT 1 FROM event_commands WHERE command_id = p_command_id
        ) THEN
          RETURN accord_command_result(p_command_id);
        END IF;
        -- The stream's head is its last event; the unique (stream_id, version) index is what
        -- makes a lost race fail (23505), so no row lock is taken.
        SELECT version, hash INTO v_version, v_prev_hash
          FROM events WHERE stream_id = p_stream_id ORDER BY version DESC LIMIT 1;
        IF NOT FOUND THEN
          v_version := 0;
          v_prev_hash := '\\x'::bytea;
        END IF;
        IF p_expected_version IS NOT NULL AND v_version <> p_expected_version THEN
          RAISE EXCEPTION 'wrong expected version for stream %', p_stream_id
            USING ERRCODE = 'AC001', DETAIL = v_version::text;
        END IF;
        -- The transaction id is taken before any position is drawn: readAll depends on it.
        PERFORM pg_current_xact_id();

        SELECT array_agg(nextval('event_position_seq')) INTO v_positions
          FROM generate_series(1, v_count);

        FOR v_i IN 1..v_count LOOP
          v_event := p_events -> (v_i - 1);
          -- The text each link covers; hash-chain-verifier.ts recomputes it outside the database.
          v_hash := sha256(v_prev_hash || convert_to(concat_ws(E'\\n',
            p_stream_id, (v_version + v_i)::text, ((v_event ->> 'eventId')::uuid)::text,
            v_event ->> 'type', ((v_event ->> 'schemaVersion')::integer)::text,
            (v_event -> 'payload')::text,
            (v_event -> 'metadata')::text, v_micros), 'UTF8'));
          INSERT INTO events (position, event_id, stream_id, version, type, schema_version, payload,
                              metadata, recorded_at, transaction_id, prev_hash, hash)
          VALUES (v_positions[v_i], (v_event ->> 'eventId')::uuid, p_stream_id, v_version + v_i,
                  v_event ->> 'type', (v_event ->> 'schemaVersion')::integer, v_event -> 'payload',
                  v_event -> 'metadata', v_now, pg_current_xact_id(), v_prev_hash, v_hash);
          v_prev_hash := v_hash;
        END LOOP;

        IF p_command_id IS NOT NULL THEN
          INSERT INTO event_commands (command_id, stream_id, first_position, last_position)
          VALUES (p_command_id, p_stream_id, v_positions[1], v_positions[v_count])
          ON CONFLICT DO NOTHING;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'command % was appended concurrently', p_command_id USING ERRCODE = 'AC004';
          END IF;
        END IF;

        RETURN jsonb_build_object(
          'streamId', p_stream_id, 'fromVersion', v_version + 1, 'toVersion', v_version + v_count,
          'positions', to_jsonb(v_positions),
          'eventIds', (SELECT jsonb_agg(e ->> 'eventId') FROM jsonb_array_elements(p_events) e),
          'duplicate', false);
      END $$;

      -- What a command id was first appended with.
      CREATE FUNCTION accord_command_result(p_command_id text) RETURNS jsonb
      LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object(
          'streamId', c.stream_id, 'fromVersion', min(e.version), 'toVersion', max(e.version),
          'positions', jsonb_agg(e.position ORDER BY e.position),
          'eventIds', jsonb_agg(e.event_id ORDER BY e.position), 'duplicate', true)
        FROM event_commands c
        JOIN events e ON e.position BETWEEN c.first_position AND c.last_position
                     AND e.stream_id = c.stream_id
        WHERE c.command_id = p_command_id
        GROUP BY c.stream_id
      $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION accord_append(text, bigint, text, jsonb);
      DROP FUNCTION accord_command_result(text);
      DROP TABLE subscription_checkpoints;
      DROP TABLE event_commands;
      DROP TABLE events;
      DROP FUNCTION accord_refuse_change();
      DROP SEQUENCE event_position_seq;
    `);
  }
}
