import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `accord_append` stamped an event with the start of its transaction (`now()`). An append that
 * began before another append to the same stream committed, and read the head after it, wrote
 * the next version with an earlier `recorded_at`: as known at an instant between the two, the
 * stream had a hole (version n+1 without n), and a `knownAt` read folded the later event onto a
 * state that lacked the earlier one. The stamp is now never before the head's: within a stream,
 * recording order is version order. (The hash covers the stamp, so it is set before hashing.)
 */
export class AppendRecordsInStreamOrder1764990100000 implements MigrationInterface {
  name = 'AppendRecordsInStreamOrder1764990100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION accord_append(
        p_stream_id text, p_expected_version bigint, p_command_id text, p_events jsonb
      ) RETURNS jsonb LANGUAGE plpgsql AS $$
      DECLARE
        v_count integer := jsonb_array_length(p_events);
        -- Milliseconds, the precision clients see: an event is known at the recordedAt the API
        -- reports for it, not a fraction of a millisecond later. Set once the head is read.
        v_now timestamptz;
        v_micros text;
        v_head_recorded_at timestamptz;
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
        SELECT version, hash, recorded_at INTO v_version, v_prev_hash, v_head_recorded_at
          FROM events WHERE stream_id = p_stream_id ORDER BY version DESC LIMIT 1;
        IF NOT FOUND THEN
          v_version := 0;
          v_prev_hash := '\\x'::bytea;
        END IF;
        -- Never before the head: now() is when this transaction began, and an append to the
        -- same stream may have committed since. A stream's events are recorded in version
        -- order, so what was known at any instant is a prefix of the stream.
        v_now := greatest(date_trunc('milliseconds', now()), v_head_recorded_at);
        v_micros := (extract(epoch FROM v_now) * 1000000)::bigint::text;
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
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION accord_append(
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
    `);
  }
}
