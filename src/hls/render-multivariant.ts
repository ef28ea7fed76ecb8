/**
 * Multivariant playlist text from a `MultivariantPlaylist` value (RFC 8216bis 4.4.6). Pure, like the media
 * playlist renderer.
 */
import type { MediaRendition, MultivariantPlaylist, VariantStream } from './model.ts';

export function renderMultivariantPlaylist(model: MultivariantPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${Math.trunc(model.version).toFixed(0)}`];
  // 4.4.2.1: in a multivariant playlist it applies to every segment of every media playlist. Our segments
  // close on a keyframe, so each one decodes without the one before it.
  if (model.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const media of model.media) lines.push(mediaLine(media));
  for (const variant of model.variants) lines.push(streamInfLine(variant), variant.uri);
  return `${lines.join('\n')}\n`;
}

/**
 * 4.4.6.1: TYPE, GROUP-ID and NAME are REQUIRED; a CLOSED-CAPTIONS rendition has no URI and REQUIRES
 * INSTREAM-ID; AUTOSELECT MUST be YES when DEFAULT is.
 */
function mediaLine(media: MediaRendition): string {
  const attributes = [
    `TYPE=${media.type}`,
    `GROUP-ID=${quoted(media.groupId)}`,
    `NAME=${quoted(media.name)}`,
    `INSTREAM-ID=${quoted(media.instreamId)}`,
    `DEFAULT=${media.default ? 'YES' : 'NO'}`,
    `AUTOSELECT=${media.autoselect || media.default ? 'YES' : 'NO'}`,
  ];
  return `#EXT-X-MEDIA:${attributes.join(',')}`;
}

/**
 * 4.4.6.2: BANDWIDTH (REQUIRED, peak bits/s), AVERAGE-BANDWIDTH, CODECS (SHOULD be present), RESOLUTION
 * (decimal-resolution WxH), FRAME-RATE (decimal-floating-point, "rounded to three decimal places"),
 * CLOSED-CAPTIONS (a quoted GROUP-ID, or the enumerated-string NONE).
 */
function streamInfLine(variant: VariantStream): string {
  const attributes = [
    `BANDWIDTH=${Math.round(variant.bandwidth).toFixed(0)}`,
    `AVERAGE-BANDWIDTH=${Math.round(variant.averageBandwidth).toFixed(0)}`,
    `CODECS="${variant.codecs}"`,
  ];
  if (variant.resolution) {
    const { width, height } = variant.resolution;
    attributes.push(`RESOLUTION=${width.toFixed(0)}x${height.toFixed(0)}`);
  }
  if (variant.frameRate !== undefined) attributes.push(`FRAME-RATE=${variant.frameRate.toFixed(3)}`);
  const cc = variant.closedCaptions;
  if (cc !== undefined) attributes.push(`CLOSED-CAPTIONS=${cc === 'NONE' ? 'NONE' : quoted(cc.groupId)}`);
  return `#EXT-X-STREAM-INF:${attributes.join(',')}`;
}

/** quoted-string (4.2): group ids and names are ours and never contain `"`, CR or LF. */
function quoted(value: string): string {
  return `"${value}"`;
}
