import type { ProjectionTestApp } from './projection-test-app';

/** A `timeline_facts` row as the timeline migrations' tests compare them. */
export interface TimelineFactRow {
  event_id: string;
  stream_id: string;
  type: string;
  retracted_by: string | null;
  retracted_during: string;
  [column: string]: unknown;
}

/** Every stored timeline fact, in stream order. */
export const timelineFactRows = (t: ProjectionTestApp): Promise<TimelineFactRow[]> =>
  t.dataSource.query('SELECT * FROM timeline_facts ORDER BY stream_id, version');

/** Whether each stream's stored spans may be resumed from (`spans_exact`), by stream id. */
export async function exactStreams(t: ProjectionTestApp): Promise<Record<string, boolean>> {
  const rows = await t.dataSource.query<Array<{ stream_id: string; spans_exact: boolean }>>(
    'SELECT stream_id, spans_exact FROM timeline_streams',
  );
  return Object.fromEntries(rows.map((row) => [row.stream_id, row.spans_exact]));
}
