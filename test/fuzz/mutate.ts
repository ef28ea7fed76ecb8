/**
 * Fuzz inputs as fast-check arbitraries: a base (a seed from a real capture, a structured value a target
 * generates, or plain random bytes) with up to eight byte-level mutations applied, in the manner of AFL's
 * havoc stage, and the read sizes a push()-fed parser gets them in. Positions are drawn as naturals and
 * taken modulo the length when applied, so a shrunk case stays meaningful.
 */
import fc from 'fast-check';
import { concatBytes } from '../../ingest-relay/src/codec/bytes.ts';

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'interesting'; at: number; width: 1 | 2 | 4; which: number }
  | { op: 'add'; at: number; delta: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; from: number; length: number; to: number }
  | { op: 'splice'; seed: number; from: number; length: number; at: number }
  | { op: 'truncate'; at: number };

/** Boundary values for lengths, counts and flags (AFL's "interesting" values), big-endian on the wire. */
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0xffffff, 0x7fffffff];
const INTERESTING_32 = [...INTERESTING, 0x80000000, 0xfffffffe, 0xffffffff];

const mutation = (seedCount: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
    fc.record({
      op: fc.constant('interesting' as const),
      at: fc.nat(),
      width: fc.constantFrom(1 as const, 2 as const, 4 as const),
      which: fc.nat(INTERESTING_32.length - 1),
    }),
    fc.record({ op: fc.constant('add' as const), at: fc.nat(), delta: fc.integer({ min: -35, max: 35 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({
      op: fc.constant('duplicate' as const),
      from: fc.nat(),
      length: fc.integer({ min: 1, max: 256 }),
      to: fc.nat(),
    }),
    fc.record({
      op: fc.constant('splice' as const),
      seed: fc.nat(Math.max(0, seedCount - 1)),
      from: fc.nat(),
      length: fc.integer({ min: 1, max: 512 }),
      at: fc.nat(),
    }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  );

function put(bytes: Uint8Array, at: number, width: number, value: number): void {
  for (let i = 0; i < width && at + i < bytes.byteLength; i++) {
    bytes[at + i] = (value / 2 ** (8 * (width - 1 - i))) & 0xff;
  }
}

/** Applies one mutation; `bytes` may be changed in place, the result is the mutated input. */
export function applyMutation(bytes: Uint8Array, m: Mutation, seeds: readonly Uint8Array[]): Uint8Array {
  const n = bytes.byteLength;
  const pos = (v: number, span = n) => (span > 0 ? v % span : 0);
  switch (m.op) {
    case 'flip':
      if (n > 0) bytes[pos(m.at)]! ^= 1 << m.bit;
      return bytes;
    case 'set':
      if (n > 0) bytes[pos(m.at)] = m.value;
      return bytes;
    case 'interesting':
      if (n > 0) put(bytes, pos(m.at), m.width, INTERESTING_32[m.which] ?? 0);
      return bytes;
    case 'add':
      if (n > 0) bytes[pos(m.at)] = (bytes[pos(m.at)]! + m.delta) & 0xff;
      return bytes;
    case 'insert': {
      const at = pos(m.at, n + 1);
      return concatBytes([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    }
    case 'delete': {
      const at = pos(m.at);
      return concatBytes([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    }
    case 'duplicate': {
      const from = pos(m.from);
      const at = pos(m.to, n + 1);
      return concatBytes([bytes.subarray(0, at), bytes.slice(from, from + m.length), bytes.subarray(at)]);
    }
    case 'splice': {
      const other = seeds[m.seed] ?? new Uint8Array(0);
      const from = pos(m.from, other.byteLength);
      const at = pos(m.at, n + 1);
      return concatBytes([bytes.subarray(0, at), other.subarray(from, from + m.length), bytes.subarray(at)]);
    }
    case 'truncate':
      return bytes.subarray(0, pos(m.at, n + 1));
  }
}

export interface FuzzCase {
  bytes: Uint8Array;
  /** Read sizes for push()-fed parsers, used in turn and cycled (TCP may split anywhere). */
  cuts: number[];
}

export interface InputSpace {
  seeds: readonly Uint8Array[];
  /** Structured values the target builds itself (valid-looking inputs the seeds do not cover). */
  generate?: fc.Arbitrary<Uint8Array>;
  /** Longest random byte string (default 256). */
  maxRandomLength?: number;
}

export function fuzzCase(space: InputSpace): fc.Arbitrary<FuzzCase> {
  const { seeds } = space;
  const bases: fc.WeightedArbitrary<Uint8Array>[] = [
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: space.maxRandomLength ?? 256 }) },
  ];
  if (seeds.length > 0) {
    bases.push({ weight: 6, arbitrary: fc.nat(seeds.length - 1).map((i) => seeds[i]!) });
  }
  if (space.generate) bases.push({ weight: 3, arbitrary: space.generate });
  const bytes = fc
    .tuple(fc.oneof(...bases), fc.array(mutation(seeds.length), { maxLength: 8 }))
    .map(([base, mutations]) =>
      mutations.reduce<Uint8Array>((b, m) => applyMutation(b, m, seeds), base.slice()),
    );
  // Mostly whole or network-sized reads; now and then tiny ones (a peer can send 1-byte TCP segments).
  const cuts: fc.Arbitrary<number[]> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<number[]>([Number.MAX_SAFE_INTEGER]) },
    { weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 2048 }), { minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 4 }) },
  );
  return fc.record({ bytes, cuts });
}

/** The pieces `bytes` arrives in when read in `cuts`-sized reads. */
export function* pieces(bytes: Uint8Array, cuts: readonly number[]): Generator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const size = Math.max(1, cuts[i % cuts.length] ?? bytes.byteLength);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}
