// A sparkline as inline SVG: one polyline over the points' time span, scaled to their min-max. Gaps (null)
// break the line. No library: a few dozen points every 2 s is nothing for the DOM.
const NS = 'http://www.w3.org/2000/svg';
const W = 240;
const H = 48;

export function sparkline(points) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const known = points.filter((p) => p.v != null && Number.isFinite(p.v));
  if (known.length === 0) return svg;
  const t0 = points[0].at;
  const span = Math.max(1, points.at(-1).at - t0);
  const lo = Math.min(...known.map((p) => p.v));
  const hi = Math.max(...known.map((p) => p.v));
  const range = hi - lo || Math.abs(hi) || 1;
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    const line = document.createElementNS(NS, 'polyline');
    line.setAttribute('points', run.join(' '));
    svg.append(line);
    run = [];
  };
  for (const p of points) {
    if (p.v == null || !Number.isFinite(p.v)) {
      flush();
      continue;
    }
    const x = ((p.at - t0) / span) * W;
    const y = H - 2 - ((p.v - lo) / range) * (H - 4);
    run.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  flush();
  return svg;
}
