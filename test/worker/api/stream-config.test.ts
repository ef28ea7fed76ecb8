// The one config schema (src/contract/stream-config.ts): any field type survives a storage round trip, each
// field says when a change applies, and the REST contract keeps its shape (issue 11).
import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_FIELDS,
  type ConfigFields,
  DEFAULT_STREAM_CONFIG,
  defaultsOf,
  readConfig,
  resolveConfig,
} from '../../../src/contract/stream-config.ts';
import { parseStoredConfig } from '../../../src/registry/record.ts';

/** A field table of the kinds the next issues add (a ladder, a boolean, an enum), to prove the mechanism. */
const FUTURE_FIELDS = {
  partTarget: { schema: z.number().min(0.1).max(2), default: 0.333, applies: 'event', description: '' },
  ladder: {
    schema: z.union([z.enum(['standard', 'passthrough']), z.array(z.object({ height: z.number().int() }))]),
    default: 'standard',
    applies: 'event',
    description: '',
  },
  recording: { schema: z.boolean(), default: true, applies: 'event', description: '' },
  playbackPolicy: {
    schema: z.enum(['public', 'signed']),
    default: 'public',
    applies: 'now',
    description: '',
  },
} satisfies ConfigFields;

describe('stream config schema', () => {
  it('round-trips strings, booleans, enums and lists through storage JSON', () => {
    const config = {
      partTarget: 0.5,
      ladder: [{ height: 720 }, { height: 360 }],
      recording: false,
      playbackPolicy: 'signed',
    };
    expect(readConfig(FUTURE_FIELDS, JSON.parse(JSON.stringify(config)))).toEqual(config);
    // A damaged field falls back to its default alone; the others keep their values.
    expect(readConfig(FUTURE_FIELDS, { ...config, recording: 'yes', ladder: 'hd' })).toEqual({
      ...config,
      recording: true,
      ladder: 'standard',
    });
    expect(readConfig(FUTURE_FIELDS, null)).toEqual(defaultsOf(FUTURE_FIELDS));
  });

  it('marks every field as fixed per event or applying at once', () => {
    for (const f of Object.values(CONFIG_FIELDS)) expect(['event', 'now']).toContain(f.applies);
    // The timeline's shape is fixed per event (DESIGN.md "Interfaces").
    expect(CONFIG_FIELDS.partTarget.applies).toBe('event');
    expect(CONFIG_FIELDS.segmentTarget.applies).toBe('event');
  });

  it('reads stored rows through the schema and checks the cross-field rule', () => {
    expect(parseStoredConfig('{"partTarget":0.5,"maxBitrate":"lots"}')).toEqual({
      ...DEFAULT_STREAM_CONFIG,
      partTarget: 0.5,
    });
    expect(parseStoredConfig('{"partTarget":2,"segmentTarget":1}')).toEqual(DEFAULT_STREAM_CONFIG);
    expect(resolveConfig(DEFAULT_STREAM_CONFIG, { maxBitrate: 1.5 })).toMatchObject({
      ok: false,
      field: 'maxBitrate',
    });
  });
});
