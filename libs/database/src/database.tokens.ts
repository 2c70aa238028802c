/** The pg pool shared with TypeORM's data source. */
export const PG_POOL = Symbol('PG_POOL');
