import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { ApiKeysService } from '../api-keys.service';
import { FeedTokensHashed1765300000000 } from './1765300000000-feed-tokens-hashed';

/** Up, tokens stored in clear are hashed in place and keep working; down, every key gets a new one. */
describe('Migration FeedTokensHashed1765300000000', () => {
  let db: TestDatabase;
  const migration = new FeedTokensHashed1765300000000();
  const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

  beforeAll(async () => {
    db = await createTestDatabase('feed_tokens_hashed');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('hashes the tokens issued before in place, and gives new ones going down', async () => {
    const keys = new ApiKeysService(db.pool);
    const created = await keys.create({ name: 'made-after', role: 'viewer' });
    await db.migrate(migration, 'down');
    const { rows: clear } = await db.pool.query<{ id: string; feed_token: string }>(
      'SELECT id, feed_token FROM api_keys',
    );
    expect(clear).toEqual([{ id: created.id, feed_token: expect.stringMatching(/^[\w-]{43}$/) }]);
    const id = randomUUID();
    const token = randomBytes(24).toString('base64url');
    await db.pool.query(
      `INSERT INTO api_keys (id, name, role, prefix, key_hash, feed_token, created_at)
       VALUES ($1, 'issued-before', 'editor', 'acc_old', $2, $3, now())`,
      [id, randomBytes(32), token],
    );

    await db.migrate(migration, 'up');
    const { rows } = await db.pool.query<{ feed_token_hash: Buffer; feed_token_salt: Buffer }>(
      'SELECT feed_token_hash, feed_token_salt FROM api_keys WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ feed_token_hash: sha256(token), feed_token_salt: null }]);
    await expect(keys.authenticateFeedToken(token)).resolves.toMatchObject({ keyId: id });
    await expect(keys.authenticateFeedToken(clear[0].feed_token)).resolves.toMatchObject({
      keyId: created.id,
    });
  });
});
