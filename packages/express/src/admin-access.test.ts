import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { adminAuthorize, adminGuard, secretsEqual } from './admin-access';

const TOKEN = 'admin-token-0123456789abcdef';

function guarded(authorize: (req: express.Request) => boolean | Promise<boolean>) {
  const app = express();
  app.use('/admin', adminGuard(authorize));
  app.get('/admin', (_req, res) => {
    res.send('secret spend');
  });
  return app;
}

describe('admin access', () => {
  it('lets only the bearer of the admin token in: 401 without credentials, 403 with wrong ones', async () => {
    const app = guarded(adminAuthorize({ token: TOKEN }));
    const anonymous = await request(app).get('/admin').expect(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(anonymous.text).not.toContain('secret spend');
    await request(app).get('/admin').set('Authorization', `Bearer ${TOKEN}x`).expect(403);
    await request(app)
      .get('/admin')
      .set('Authorization', `Bearer ${TOKEN.slice(0, -1)}`)
      .expect(403);
    await request(app).get('/admin').set('Authorization', `Basic ${TOKEN}`).expect(403);
    await request(app).get('/admin').set('Authorization', TOKEN).expect(403);
    await request(app).get('/admin').set('Authorization', `Bearer ${TOKEN}`).expect(200, 'secret spend');
    await request(app).get('/admin').set('Authorization', `bearer ${TOKEN}`).expect(200);
  });

  it('refuses everyone, loopback included, when neither a token nor open is configured', async () => {
    await request(guarded(adminAuthorize({})))
      .get('/admin')
      .expect(401);
    await request(guarded(adminAuthorize({})))
      .get('/admin')
      .set('Authorization', 'Bearer anything')
      .expect(403);
  });

  it('opens only when explicitly asked to', async () => {
    await request(guarded(adminAuthorize({ open: true })))
      .get('/admin')
      .expect(200);
  });

  it('refuses short or spaced tokens at configuration time', () => {
    expect(() => adminAuthorize({ token: 'short' })).toThrow(/at least 16/);
    expect(() => adminAuthorize({ token: 'a long token with spaces' })).toThrow(/without spaces/);
    expect(() => adminAuthorize({ token: 42 as never })).toThrow(/adminToken/);
  });

  it('a throwing check refuses', async () => {
    const app = guarded(() => {
      throw new Error('auth service down');
    });
    await request(app).get('/admin').expect(401);
  });

  it('compares secrets whatever their lengths', () => {
    expect(secretsEqual(TOKEN, TOKEN)).toBe(true);
    expect(secretsEqual('', TOKEN)).toBe(false);
    expect(secretsEqual(`${TOKEN}${TOKEN}`, TOKEN)).toBe(false);
  });
});
