import { SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { ORIGIN } from './client.ts';

interface OpenApiDoc {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses: object }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
}

it('serves a public OpenAPI 3 document describing every route', async () => {
  const res = await SELF.fetch(`${ORIGIN}/v1/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const doc = JSON.parse(await res.text()) as OpenApiDoc;
  expect(doc.openapi).toMatch(/^3\./);
  expect(doc.servers[0]?.url).toBe(`${ORIGIN}/v1`);
  const operations = Object.fromEntries(
    Object.entries(doc.paths).map(([path, methods]) => [path, Object.keys(methods).sort()]),
  );
  // Other faces (webhooks) add their own paths; these are the streams API's.
  expect(operations).toMatchObject({
    '/streams': ['get', 'post'],
    '/streams/{id}': ['delete', 'get', 'patch'],
    '/streams/{id}/rotate-key': ['post'],
    '/streams/{id}/health': ['get'],
    '/streams/{id}/playback-tokens': ['post'],
    '/streams/{id}/revoke-tokens': ['post'],
    '/signing-keys': ['get', 'post'],
    '/signing-keys/{id}': ['delete'],
    '/metrics': ['get'],
  });
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) {
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(op.operationId).toBeTruthy();
      expect(Object.keys(op.responses)).toContain('401');
    }
  }
  expect(doc.components.securitySchemes.bearerAuth?.type).toBe('http');
  for (const name of ['Stream', 'StreamList', 'CreateStream', 'UpdateStream', 'Problem', 'StreamConfig']) {
    expect(doc.components.schemas).toHaveProperty(name);
  }
  const create = doc.components.schemas.CreateStream as {
    additionalProperties?: boolean;
    properties: object;
  };
  expect(create.additionalProperties).toBe(false);
  expect(Object.keys(create.properties).sort()).toEqual(
    [
      'name',
      'partTarget',
      'reconnectWindow',
      'segmentTarget',
      'srtPassphrase',
      'failoverTimeout',
      'failbackHoldOff',
      'maxBitrate',
      'ladder',
      'playbackPolicy',
      'recording',
      'dvrWindow',
      'retentionDays',
    ].sort(),
  );
});
