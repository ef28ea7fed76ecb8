/**
 * The one table of fuzz targets: every byte parser the relay runs on bytes from the network, once each.
 * run.ts (npm run fuzz) and test/relay/fuzz/parsers.test.ts run them all through the same driver.
 */
import type { FuzzTarget } from './target.ts';
import { mediaTargets } from './targets/media.ts';
import { rtmpTargets } from './targets/rtmp.ts';
import { srtTargets } from './targets/srt.ts';

export const TARGETS: readonly FuzzTarget[] = [...rtmpTargets, ...mediaTargets, ...srtTargets];
