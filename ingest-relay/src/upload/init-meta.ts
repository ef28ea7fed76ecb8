/** What the Worker is told with an init segment (worker-client.ts InitMeta), from the segmenter's InitOutput. */
import type { InitOutput } from '../cmaf/output.ts';
import type { InitMeta } from './worker-client.ts';

/** `extra`: what the init itself does not know (a rung's nominal bandwidth, the source's list of rungs). */
export function initMeta(
  rendition: string,
  init: InitOutput,
  extra: Pick<InitMeta, 'bandwidth' | 'renditions'> = {},
): InitMeta {
  const meta: InitMeta = { rendition, codecs: init.codecs };
  if (init.resolution !== undefined) meta.resolution = init.resolution;
  if (init.frameRate !== undefined) meta.frameRate = init.frameRate;
  if (init.closedCaptions !== undefined) meta.closedCaptions = init.closedCaptions;
  if (extra.bandwidth !== undefined) meta.bandwidth = extra.bandwidth;
  if (extra.renditions !== undefined && extra.renditions.length > 0) meta.renditions = extra.renditions;
  return meta;
}
