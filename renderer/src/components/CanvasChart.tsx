// A small line chart on a canvas, for the dense per-cycle charts: recharts re-renders its whole SVG tree (and its
// internal store) on every refresh, which at 5 Hz with hundreds of points per series cost more than a frame on
// modest machines. Same inputs as before (decimated rows, fixed domains, reference lines); the legend and the
// tooltip are HTML. Hover, or focus it and use ← →, to read values.

import { type KeyboardEvent, type MouseEvent, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import type { Row } from '../lib/decimate';
import { formatClock } from '../lib/format';
import { getPalette, onPaletteChange } from '../theme';

export interface SeriesSpec {
  key: string;
  name: string;
  color: string;
  axis: 'left' | 'right';
  dash?: readonly number[];
  width?: number;
}

export interface AxisSpec {
  max: number;
  format: (v: number) => string;
  color?: string;
}

export interface RefLineSpec {
  y: number;
  color: string;
  label: string;
  align: 'left' | 'right';
}

/** A cycle that did not commit, marked on the time axis: failed (a cross) or aborted (a diamond). */
export interface MarkerSpec {
  t: number;
  color: string;
  shape: 'cross' | 'diamond';
}

/** A checkpoint still open: a bar from its start to the right edge, as tall as its pause so far (left axis). */
export interface OpenBarSpec {
  from: number;
  value: number;
  color: string;
  label: string;
}

interface Props {
  rows: readonly Row[];
  markers?: readonly MarkerSpec[];
  openBar?: OpenBarSpec | null;
  t0: number;
  t1: number;
  ticks: readonly number[];
  tickFormat: (t: number) => string;
  left: AxisSpec;
  right?: AxisSpec;
  series: readonly SeriesSpec[];
  refLines?: readonly RefLineSpec[];
  height: number;
  label: string;
  testId: string;
  formatValue: (key: string, v: number) => string;
}

const PAD_TOP = 10;
const PAD_BOTTOM = 22;
const AXIS_W = 62;

interface Layout {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function layoutFor(width: number, height: number, hasRight: boolean): Layout {
  return { x0: AXIS_W, x1: width - (hasRight ? AXIS_W : 10), y0: PAD_TOP, y1: height - PAD_BOTTOM };
}

/** Index of the row whose time is nearest to t (rows ascending by t). */
function nearest(rows: readonly Row[], t: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(rows[lo - 1]!.t - t) < Math.abs(rows[lo]!.t - t)) return lo - 1;
  return lo;
}

/** `w`: the canvas's CSS width, kept by a ResizeObserver (reading clientWidth here would force a layout). */
function draw(canvas: HTMLCanvasElement, w: number, p: Props, hover: number | null): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const pal = getPalette();
  const dpr = window.devicePixelRatio || 1;
  const h = p.height;
  if (w === 0) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const L = layoutFor(w, h, p.right !== undefined);
  const span = p.t1 - p.t0 || 1;
  const xOf = (t: number): number => L.x0 + ((t - p.t0) / span) * (L.x1 - L.x0);
  const yOf = (v: number, axis: AxisSpec): number => L.y1 - (Math.min(v, axis.max * 1.02) / (axis.max || 1)) * (L.y1 - L.y0);

  // Grid, ticks, axes.
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = pal.grid;
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  const fractions = [0, 0.25, 0.5, 0.75, 1];
  for (const f of fractions) {
    const y = Math.round(L.y1 - f * (L.y1 - L.y0)) + 0.5;
    ctx.moveTo(L.x0, y);
    ctx.lineTo(L.x1, y);
  }
  for (const t of p.ticks) {
    const x = Math.round(xOf(t)) + 0.5;
    ctx.moveTo(x, L.y0);
    ctx.lineTo(x, L.y1);
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = pal.muted;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (const f of fractions) ctx.fillText(p.left.format(p.left.max * f), L.x0 - 6, L.y1 - f * (L.y1 - L.y0));
  if (p.right !== undefined) {
    ctx.textAlign = 'left';
    ctx.fillStyle = p.right.color ?? pal.muted;
    for (const f of fractions) ctx.fillText(p.right.format(p.right.max * f), L.x1 + 6, L.y1 - f * (L.y1 - L.y0));
  }
  ctx.fillStyle = pal.muted;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  for (const t of p.ticks) {
    const x = xOf(t);
    ctx.textAlign = x > L.x1 - 20 ? 'right' : x < L.x0 + 20 ? 'left' : 'center';
    ctx.fillText(p.tickFormat(t), x, L.y1 + 5);
  }
  ctx.strokeStyle = pal.muted;
  ctx.beginPath();
  ctx.moveTo(L.x0 + 0.5, L.y0);
  ctx.lineTo(L.x0 + 0.5, L.y1 + 0.5);
  ctx.lineTo(L.x1, L.y1 + 0.5);
  ctx.stroke();

  // Series; a null breaks the line, a row without the series' key is passed over (rows merged from several
  // sources carry only their own series).
  ctx.save();
  ctx.beginPath();
  ctx.rect(L.x0, L.y0 - 2, L.x1 - L.x0, L.y1 - L.y0 + 2);
  ctx.clip();
  for (const s of p.series) {
    const axis = s.axis === 'right' && p.right !== undefined ? p.right : p.left;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width ?? 1.5;
    ctx.setLineDash(s.dash ? [...s.dash] : []);
    ctx.beginPath();
    let pen = false;
    let lone = -1;
    for (let i = 0; i < p.rows.length; i++) {
      const v = p.rows[i]![s.key];
      if (v === undefined) continue;
      if (v === null) {
        pen = false;
        continue;
      }
      const x = xOf(p.rows[i]!.t);
      const y = yOf(v, axis);
      if (!pen) {
        ctx.moveTo(x, y);
        lone = i;
        pen = true;
      } else {
        ctx.lineTo(x, y);
        lone = -1;
      }
    }
    ctx.stroke();
    // A single point between gaps would not show as a line: mark it.
    if (lone >= 0) {
      ctx.fillStyle = s.color;
      const v = p.rows[lone]![s.key] as number;
      ctx.fillRect(xOf(p.rows[lone]!.t) - 1.5, yOf(v, axis) - 1.5, 3, 3);
    }
  }
  ctx.setLineDash([]);
  ctx.restore();

  // An open checkpoint is never hidden: at least a few pixels wide, clipped at the top with its label there.
  if (p.openBar) {
    const b = p.openBar;
    const x = Math.min(xOf(Math.max(b.from, p.t0)), L.x1 - 4);
    const y = yOf(b.value, p.left);
    ctx.globalAlpha = 0.35;
    ctx.fillStyle = b.color;
    ctx.fillRect(x, y, L.x1 - x, L.y1 - y);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = b.color;
    ctx.lineWidth = 2;
    ctx.strokeRect(x, y, L.x1 - x, L.y1 - y);
    ctx.fillStyle = b.color;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(b.label, L.x1 - 4, Math.max(L.y0, y) + 3);
  }
  // Cycles that did not commit, along the bottom of the plot.
  for (const m of p.markers ?? []) {
    if (m.t < p.t0 || m.t > p.t1) continue;
    const x = xOf(m.t);
    const y = L.y1 - 6;
    ctx.strokeStyle = m.color;
    ctx.fillStyle = m.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    if (m.shape === 'cross') {
      ctx.moveTo(x - 4, y - 4);
      ctx.lineTo(x + 4, y + 4);
      ctx.moveTo(x + 4, y - 4);
      ctx.lineTo(x - 4, y + 4);
      ctx.stroke();
    } else {
      ctx.moveTo(x, y - 5);
      ctx.lineTo(x + 4, y);
      ctx.lineTo(x, y + 5);
      ctx.lineTo(x - 4, y);
      ctx.closePath();
      ctx.fill();
    }
  }

  // Reference lines (p50, p99) with their labels.
  for (const r of p.refLines ?? []) {
    if (!Number.isFinite(r.y)) continue;
    const y = Math.round(yOf(r.y, p.left)) + 0.5;
    ctx.strokeStyle = r.color;
    ctx.lineWidth = 1;
    ctx.setLineDash([6, 3]);
    ctx.beginPath();
    ctx.moveTo(L.x0, y);
    ctx.lineTo(L.x1, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = r.color;
    ctx.textBaseline = 'bottom';
    ctx.textAlign = r.align;
    ctx.fillText(r.label, r.align === 'left' ? L.x0 + 4 : L.x1 - 4, y - 2);
  }

  // Crosshair.
  if (hover !== null && p.rows[hover] !== undefined) {
    const x = Math.round(xOf(p.rows[hover].t)) + 0.5;
    ctx.strokeStyle = pal.fg;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, L.y0);
    ctx.lineTo(x, L.y1);
    ctx.stroke();
    for (const s of p.series) {
      const v = p.rows[hover][s.key];
      if (v === null || v === undefined) continue;
      const axis = s.axis === 'right' && p.right !== undefined ? p.right : p.left;
      ctx.fillStyle = s.color;
      ctx.beginPath();
      ctx.arc(x, yOf(v, axis), 3, 0, Math.PI * 2);
      ctx.fill();
    }
  }
}

export function CanvasChart(props: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const propsRef = useRef(props);
  const hoverRef = useRef<number | null>(null);
  const widthRef = useRef(0);
  const [hover, setHover] = useState<{ index: number; left: number } | null>(null);
  const tipId = useId();

  // Draw after every render with new data; keep the latest props for resize and theme repaints.
  useLayoutEffect(() => {
    propsRef.current = props;
    const canvas = canvasRef.current;
    if (canvas === null) return;
    if (widthRef.current === 0) widthRef.current = canvas.clientWidth;
    draw(canvas, widthRef.current, props, hoverRef.current);
  });

  useEffect(() => {
    const canvas = canvasRef.current;
    if (canvas === null) return;
    const repaint = (): void => draw(canvas, widthRef.current, propsRef.current, hoverRef.current);
    const ro = new ResizeObserver((entries) => {
      widthRef.current = entries[0]?.contentRect.width ?? canvas.clientWidth;
      repaint();
    });
    ro.observe(canvas);
    const off = onPaletteChange(repaint);
    return () => {
      ro.disconnect();
      off();
    };
  }, []);

  const setHoverIndex = (index: number | null): void => {
    hoverRef.current = index;
    const canvas = canvasRef.current;
    if (canvas === null) return;
    draw(canvas, widthRef.current, propsRef.current, index);
    if (index === null) {
      setHover(null);
      return;
    }
    const p = propsRef.current;
    const w = widthRef.current;
    const L = layoutFor(w, p.height, p.right !== undefined);
    const x = L.x0 + ((p.rows[index]!.t - p.t0) / (p.t1 - p.t0 || 1)) * (L.x1 - L.x0);
    setHover({ index, left: x > w - 240 ? x - 232 : x + 12 });
  };

  const onMouseMove = (e: MouseEvent<HTMLCanvasElement>): void => {
    const p = propsRef.current;
    if (p.rows.length === 0) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const L = layoutFor(rect.width, p.height, p.right !== undefined);
    const t = p.t0 + ((e.clientX - rect.left - L.x0) / (L.x1 - L.x0)) * (p.t1 - p.t0);
    const i = nearest(p.rows, t);
    if (i !== hoverRef.current) setHoverIndex(i);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>): void => {
    const n = propsRef.current.rows.length;
    if (n === 0) return;
    const cur = hoverRef.current;
    let next: number | null;
    if (e.key === 'ArrowLeft') next = cur === null ? n - 1 : Math.max(0, cur - 1);
    else if (e.key === 'ArrowRight') next = cur === null ? n - 1 : Math.min(n - 1, cur + 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = n - 1;
    else if (e.key === 'Escape') next = null;
    else return;
    e.preventDefault();
    setHoverIndex(next);
  };

  // The hovered row is read from the props of this render; rows change at 5 Hz, so clamp.
  const row = hover === null ? undefined : props.rows[Math.min(hover.index, props.rows.length - 1)];
  return (
    <div className="canvas-chart">
      <div style={{ position: 'relative' }}>
        <canvas
          ref={canvasRef}
          data-testid={props.testId}
          className="chart-canvas"
          style={{ height: props.height }}
          tabIndex={0}
          role="img"
          aria-label={props.label}
          aria-describedby={row !== undefined ? tipId : undefined}
          onMouseMove={onMouseMove}
          onMouseLeave={() => setHoverIndex(null)}
          onKeyDown={onKeyDown}
          onBlur={() => setHoverIndex(null)}
        />
        {hover !== null && row !== undefined && (
          <div className="timeline-tooltip chart-tooltip" style={{ left: hover.left, top: 8 }} id={tipId} role="status">
            <div style={{ fontWeight: 600 }}>{formatClock(row.t)}</div>
            <table>
              <tbody>
                {props.series.map((s) => {
                  const v = row[s.key];
                  return (
                    <tr key={s.key}>
                      <td>
                        <span className="swatch" style={{ background: s.color, height: '0.25rem', verticalAlign: 'middle' }} aria-hidden="true" /> {s.name}
                      </td>
                      <td>{v === null || v === undefined ? '—' : props.formatValue(s.key, v)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </div>
      <ul className="legend" aria-hidden="true" style={{ justifyContent: 'center' }}>
        {props.series.map((s) => (
          <li key={s.key}>
            <svg width="18" height="6" aria-hidden="true">
              <line x1="0" y1="3" x2="18" y2="3" stroke={s.color} strokeWidth={2} strokeDasharray={s.dash?.join(' ')} />
            </svg>
            {s.name}
            {s.axis === 'right' ? ' (right axis)' : ''}
          </li>
        ))}
        {(props.refLines ?? []).map((r) => (
          <li key={r.label}>
            <svg width="18" height="6" aria-hidden="true">
              <line x1="0" y1="3" x2="18" y2="3" stroke={r.color} strokeWidth={1.5} strokeDasharray="6 3" />
            </svg>
            {r.label.split(' ')[0]}
          </li>
        ))}
      </ul>
    </div>
  );
}
