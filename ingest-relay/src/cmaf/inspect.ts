/**
 * A box-tree dumper for tests and debugging: type, size and children, one box per line, indented. Golden box
 * dumps (as in Eyevinn's mp4ff) catch any change in box layout.
 */
import { ByteReader } from '../codec/bytes.ts';

export interface BoxNode {
  type: string;
  size: number;
  children: BoxNode[];
}

/** Containers and the bytes to skip before their children (ISO 14496-12; 14496-15 for avc1; 14496-14 mp4a). */
const CONTAINERS: Record<string, number> = {
  moov: 0,
  trak: 0,
  mdia: 0,
  minf: 0,
  dinf: 0,
  stbl: 0,
  mvex: 0,
  moof: 0,
  traf: 0,
  dref: 8,
  stsd: 8,
  avc1: 78,
  mp4a: 28,
};

/**
 * Deepest nesting read. CMAF trees are about 7 deep (moov/trak/mdia/minf/stbl/stsd/avc1); a deeper tree
 * is not one, and reading it by recursion would run out of stack (found by fuzzing: 8 bytes per level).
 */
const MAX_DEPTH = 32;

export function parseBoxes(bytes: Uint8Array, depth = 0): BoxNode[] {
  const r = new ByteReader(bytes);
  const nodes: BoxNode[] = [];
  while (r.remaining >= 8) {
    const start = r.position;
    const size = r.u32();
    const type = String.fromCharCode(...r.bytes(4));
    if (size < 8 || start + size > bytes.byteLength) {
      nodes.push({ type: `${type}!bad-size(${size})`, size, children: [] });
      break;
    }
    const skip = CONTAINERS[type];
    if (skip !== undefined && depth >= MAX_DEPTH) {
      nodes.push({ type: `${type}!too-deep`, size, children: [] });
      break;
    }
    const children =
      skip === undefined ? [] : parseBoxes(bytes.subarray(start + 8 + skip, start + size), depth + 1);
    nodes.push({ type, size, children });
    r.skip(size - 8);
  }
  return nodes;
}

export function dumpBoxes(bytes: Uint8Array): string {
  const lines: string[] = [];
  const walk = (nodes: BoxNode[], depth: number) => {
    for (const n of nodes) {
      lines.push(`${'  '.repeat(depth)}${n.type} ${n.size}`);
      walk(n.children, depth + 1);
    }
  };
  walk(parseBoxes(bytes), 0);
  return `${lines.join('\n')}\n`;
}
