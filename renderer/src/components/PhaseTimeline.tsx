// The live phase timeline: one bar per checkpoint cycle, newest on the right, drawn on a canvas straight from the
// ring buffer by the frame scheduler (no React render per cycle). Above the axis, the primary's pause split into
// its protocol phases at their exact offsets; below it, the wait for the trigger; above the bars, the trigger as a
// shape (so colour is never the only cue). Hatched bars have derived timings. Hover, or focus and use the arrow
// keys, to freeze the view and read a cycle's exact times.

import { type KeyboardEvent, type MouseEvent, useEffect, useId, useRef, useState } from 'react';
import type { CycleRecord } from '../../../core/colo/types.js';
import { formatAxisMs, formatBytes, formatClock, formatMs, formatMsExact } from '../lib/format';
import { NOT_REPORTED_BY_QEMU, sizesReported } from '../lib/qemu';
import { niceCeiling } from '../lib/stats';
import { peekLive } from '../store/live';
import { OUTCOME_ABORTED, OUTCOME_FAILED, PHASE_COUNT, PHASES, PROVENANCE_DERIVED, type CycleRing, TRIGGERS } from '../store/ring';
import { onFrame, requestFrame } from '../store/scheduler';
import { useConsole } from '../store/store';
import { getPalette, onPaletteChange, type Palette } from '../theme';
import { Segmented } from './Segmented';

const HEIGHT = 240;
const LEFT = 52;
const RIGHT = 10;
const MARKER_TOP = 3;
const MARKER_H = 12;
const TOP = 22;
const BOTTOM = 20;
const UPPER_SHARE = 0.64;

const BAR_WIDTHS = [
  { value: 3, label: 'Dense' },
  { value: 6, label: 'Normal' },
  { value: 12, label: 'Wide' },
] as const;

const TRIGGER_GLYPH: Readonly<Record<(typeof TRIGGERS)[number], string>> = {
  initial: '◯',
  miscompare: '▲',
  timer: '●',
  timeout: '■',
  manual: '◆',
};

interface View {
  barWidth: number;
  hoverFreeze: boolean;
  buttonFreeze: boolean;
  frozenEnd: number | null;
  hoverGlobal: number | null;
  selectedGlobal: number | null;
  epoch: number;
  drawnVersion: number;
  dirty: boolean;
  pauseMax: number;
  waitMax: number;
  // Layout of the last paint, for hit-testing.
  start: number;
  end: number;
  step: number;
  plotRight: number;
  lastSeqShown: number;
  /** The canvas's CSS width, from the ResizeObserver: reading clientWidth while painting would force a layout. */
  cssW: number;
}

function newView(): View {
  return {
    barWidth: 6,
    hoverFreeze: false,
    buttonFreeze: false,
    frozenEnd: null,
    hoverGlobal: null,
    selectedGlobal: null,
    epoch: -1,
    drawnVersion: -1,
    dirty: true,
    pauseMax: 0,
    waitMax: 0,
    start: 0,
    end: 0,
    step: 7,
    plotRight: 0,
    lastSeqShown: -1,
    cssW: 0,
  };
}

interface Tip {
  rec: CycleRecord;
  left: number;
}

function updateFreeze(view: View, ring: CycleRing | undefined): void {
  const frozen = view.hoverFreeze || view.buttonFreeze || view.selectedGlobal !== null;
  if (frozen && view.frozenEnd === null) view.frozenEnd = ring?.endGlobal ?? 0;
  if (!frozen) view.frozenEnd = null;
  view.dirty = true;
  requestFrame();
}

export function PhaseTimeline({ pairId }: { pairId: string }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const viewRef = useRef<View>(newView());
  const [tip, setTip] = useState<Tip | null>(null);
  const [paused, setPaused] = useState(false);
  const [barWidth, setBarWidth] = useState(6);
  const [selectedText, setSelectedText] = useState('');
  const helpId = useId();
  const liveId = useId();
  const sizes = useConsole((s) => sizesReported(s.pairs[pairId]));

  // The painter: registered with the frame scheduler for as long as the component is mounted.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (canvas === null) return;
    const view = viewRef.current;
    view.dirty = true;
    let hatch: CanvasPattern | null = null;
    let palette = getPalette();
    const offPalette = onPaletteChange(() => {
      palette = getPalette();
      hatch = null;
      view.dirty = true;
      requestFrame();
    });
    view.cssW = canvas.clientWidth;
    const ro = new ResizeObserver((entries) => {
      view.cssW = entries[0]?.contentRect.width ?? canvas.clientWidth;
      view.dirty = true;
      requestFrame();
    });
    ro.observe(canvas);
    const off = onFrame(() => {
      const ring = peekLive(pairId)?.ring;
      if (ring === undefined) return;
      if (ring.epoch !== view.epoch) {
        // Global indices were renumbered (history prepended): drop anything that pointed into the old numbering.
        view.epoch = ring.epoch;
        view.frozenEnd = view.frozenEnd === null ? null : ring.endGlobal;
        view.selectedGlobal = null;
        view.hoverGlobal = null;
        view.dirty = true;
      }
      if (!view.dirty && (view.frozenEnd !== null || ring.version === view.drawnVersion)) return;
      const ctx = canvas.getContext('2d');
      if (ctx === null) return;
      hatch ??= makeHatch(ctx, palette);
      paint(canvas, ctx, ring, view, palette, hatch);
      view.drawnVersion = ring.version;
      view.dirty = false;
    });
    return () => {
      off();
      offPalette();
      ro.disconnect();
    };
  }, [pairId]);

  const ringNow = (): CycleRing | undefined => peekLive(pairId)?.ring;

  const showTipFor = (g: number | null): void => {
    const ring = ringNow();
    const view = viewRef.current;
    const s = g === null || ring === undefined ? -1 : ring.slotOfGlobal(g);
    if (g === null || ring === undefined || s < 0) {
      setTip(null);
      return;
    }
    const x = view.plotRight - (view.end - g) * view.step;
    const width = view.cssW || 800;
    const left = x > width - 320 ? Math.max(0, x - 304) : x + 14;
    setTip({ rec: ring.record(s), left });
  };

  const onMouseMove = (e: MouseEvent<HTMLCanvasElement>): void => {
    const view = viewRef.current;
    const rect = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - rect.left;
    if (!view.hoverFreeze) {
      view.hoverFreeze = true;
      updateFreeze(view, ringNow());
    }
    const col = Math.floor((view.plotRight - x) / view.step);
    const g = view.end - 1 - col;
    const hit = col >= 0 && g >= view.start && g < view.end ? g : null;
    if (hit !== view.hoverGlobal) {
      view.hoverGlobal = hit;
      view.dirty = true;
      requestFrame();
      showTipFor(hit ?? view.selectedGlobal);
    }
  };

  const onMouseLeave = (): void => {
    const view = viewRef.current;
    view.hoverFreeze = false;
    view.hoverGlobal = null;
    updateFreeze(view, ringNow());
    showTipFor(view.selectedGlobal);
  };

  const select = (g: number | null): void => {
    const view = viewRef.current;
    view.selectedGlobal = g;
    updateFreeze(view, ringNow());
    showTipFor(g);
    const ring = ringNow();
    const s = g === null || ring === undefined ? -1 : ring.slotOfGlobal(g);
    setSelectedText(s < 0 || ring === undefined ? '' : describeCycle(ring.record(s)));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>): void => {
    const view = viewRef.current;
    const ring = ringNow();
    if (ring === undefined) return;
    const newest = (view.frozenEnd ?? ring.endGlobal) - 1;
    const oldest = Math.max(view.start, ring.firstGlobal);
    if (newest < oldest) return;
    const cur = view.selectedGlobal;
    let next: number | null | undefined;
    switch (e.key) {
      case 'ArrowLeft':
        next = cur === null ? newest : Math.max(oldest, cur - 1);
        break;
      case 'ArrowRight':
        next = cur === null ? newest : Math.min(newest, cur + 1);
        break;
      case 'PageUp':
        next = cur === null ? newest : Math.max(oldest, cur - 10);
        break;
      case 'PageDown':
        next = cur === null ? newest : Math.min(newest, cur + 10);
        break;
      case 'Home':
        next = oldest;
        break;
      case 'End':
        next = newest;
        break;
      case 'Escape':
        next = null;
        break;
      default:
        return;
    }
    e.preventDefault();
    select(next);
  };

  const togglePause = (): void => {
    const view = viewRef.current;
    view.buttonFreeze = !view.buttonFreeze;
    setPaused(view.buttonFreeze);
    if (!view.buttonFreeze) {
      view.selectedGlobal = null;
      setSelectedText('');
      setTip(null);
    }
    updateFreeze(view, ringNow());
  };

  const changeWidth = (w: number): void => {
    const view = viewRef.current;
    view.barWidth = w;
    view.dirty = true;
    requestFrame();
    setBarWidth(w);
  };

  const pal = getPalette();
  return (
    <div>
      <div className="row" style={{ justifyContent: 'space-between', marginBottom: '0.4rem' }}>
        <div className="row">
          <button type="button" aria-pressed={paused} onClick={togglePause}>
            {paused ? 'Resume live' : 'Pause'}
          </button>
          <span className="small muted" id={helpId}>
            Hover a bar, or focus the timeline and use ← → Home End, for exact times. Esc returns to live.
          </span>
        </div>
        <div className="row small">
          <span className="muted">Bar width</span>
          <Segmented legend="Bar width" value={barWidth} options={BAR_WIDTHS} onChange={changeWidth} />
        </div>
      </div>
      <div className="timeline-wrap">
        <canvas
          ref={canvasRef}
          className="timeline-canvas"
          data-testid="phase-timeline"
          tabIndex={0}
          role="application"
          aria-roledescription="phase timeline"
          aria-label="Phase timeline of recent checkpoint cycles, newest on the right"
          aria-describedby={`${helpId} ${liveId}`}
          style={{ height: HEIGHT }}
          onMouseMove={onMouseMove}
          onMouseLeave={onMouseLeave}
          onKeyDown={onKeyDown}
          onBlur={() => {
            if (viewRef.current.selectedGlobal !== null && !viewRef.current.buttonFreeze) select(null);
          }}
        />
        {tip !== null && (
          <div className="timeline-tooltip" style={{ left: tip.left, top: TOP }} role="presentation">
            <CycleDetails rec={tip.rec} sizes={sizes} />
          </div>
        )}
      </div>
      <p className="selected-cycle" id={liveId} aria-live="polite">
        {selectedText}
      </p>
      <ul className="legend" aria-label="Legend">
        {PHASES.map((p) => (
          <li key={p}>
            <span className="swatch" style={{ background: pal.phase[p] }} aria-hidden="true" />
            {p}
            {p === 'wait' ? ' (below the axis)' : ''}
          </li>
        ))}
        {TRIGGERS.map((t) => (
          <li key={t}>
            <span className="glyph" style={{ color: pal.trigger[t] }} aria-hidden="true">
              {TRIGGER_GLYPH[t]}
            </span>
            {t}
          </li>
        ))}
        <li>
          <span className="swatch hatched" aria-hidden="true" />
          derived timing
        </li>
        <li>
          <span className="swatch" style={{ background: pal.bad, height: '0.3rem' }} aria-hidden="true" />
          failed cycle
        </li>
        <li>
          <span className="swatch" style={{ background: pal.warn, height: '0.3rem' }} aria-hidden="true" />
          aborted cycle
        </li>
      </ul>
    </div>
  );
}

export function describeCycle(rec: CycleRecord): string {
  const phases = rec.phases.map((p) => `${p.name} ${formatMs(p.durationMs)}`).join(', ');
  const sec = rec.secondaryPauseMs === undefined ? '' : `, secondary pause ${formatMs(rec.secondaryPauseMs)}`;
  return `Cycle #${rec.seq} at ${formatClock(rec.startedAt)}: ${rec.trigger}, ${rec.outcome}, primary pause ${formatMs(rec.primaryPauseMs)}${sec}; ${phases || 'no phases reported'}; ${rec.provenance}.`;
}

/** `sizes`: whether the backend counts pages and bytes per checkpoint (QEMU does not: its 0 means unknown). */
function CycleDetails({ rec, sizes }: { rec: CycleRecord; sizes: boolean }) {
  return (
    <div>
      <div style={{ fontWeight: 600, marginBottom: '0.25rem' }}>
        Cycle #{rec.seq} · {rec.trigger} · {rec.mode === 'colo' ? 'COLO' : 'Remus'}{' '}
        <span className={`tag ${rec.provenance}`}>{rec.provenance}</span>
      </div>
      <table>
        <tbody>
          <tr>
            <td className="muted">started</td>
            <td colSpan={2}>{formatClock(rec.startedAt)}</td>
          </tr>
          {rec.phases.map((p) => (
            <tr key={p.name}>
              <td className="muted">{p.name}</td>
              <td>+{formatMsExact(p.startMs)}</td>
              <td>{formatMsExact(p.durationMs)}</td>
            </tr>
          ))}
          <tr>
            <td className="muted">primary pause</td>
            <td colSpan={2}>{formatMsExact(rec.primaryPauseMs)}</td>
          </tr>
          <tr>
            <td className="muted">secondary pause</td>
            <td colSpan={2}>{rec.secondaryPauseMs === undefined ? 'not reported' : formatMsExact(rec.secondaryPauseMs)}</td>
          </tr>
          <tr>
            <td className="muted">dirty pages</td>
            <td colSpan={2}>
              {sizes ? (
                <>
                  {rec.dirtyPages}
                  {rec.secondaryDirtyPages !== undefined ? ` + ${rec.secondaryDirtyPages} (secondary)` : ''} → {rec.pagesSent} sent
                </>
              ) : (
                NOT_REPORTED_BY_QEMU
              )}
            </td>
          </tr>
          <tr>
            <td className="muted">bytes</td>
            <td colSpan={2}>{sizes ? formatBytes(rec.bytesSent) : NOT_REPORTED_BY_QEMU}</td>
          </tr>
          <tr>
            <td className="muted">outcome</td>
            <td colSpan={2}>{rec.outcome}</td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}

function makeHatch(ctx: CanvasRenderingContext2D, pal: Palette): CanvasPattern | null {
  const c = document.createElement('canvas');
  c.width = 6;
  c.height = 6;
  const g = c.getContext('2d');
  if (g === null) return null;
  g.strokeStyle = pal.bg;
  g.globalAlpha = 0.75;
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(0, 6);
  g.lineTo(6, 0);
  g.stroke();
  return ctx.createPattern(c, 'repeat');
}

/** Start of the pause: the first non-wait phase, or NaN when the backend reported none. */
function pauseOrigin(ring: CycleRing, s: number): number {
  let origin = Infinity;
  for (let p = 1; p < PHASE_COUNT; p++) {
    const st = ring.phaseStart[s * PHASE_COUNT + p]!;
    if (st < origin) origin = st;
  }
  return origin === Infinity ? NaN : origin;
}

function paint(canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D, ring: CycleRing, view: View, pal: Palette, hatch: CanvasPattern | null): void {
  const dpr = window.devicePixelRatio || 1;
  const cssW = view.cssW;
  const cssH = HEIGHT;
  if (cssW === 0) return;
  const pxW = Math.round(cssW * dpr);
  const pxH = Math.round(cssH * dpr);
  if (canvas.width !== pxW || canvas.height !== pxH) {
    canvas.width = pxW;
    canvas.height = pxH;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);

  const bw = view.barWidth;
  const step = bw + (bw >= 4 ? 1 : 0);
  const plotLeft = LEFT;
  const plotRight = cssW - RIGHT;
  const n = Math.max(1, Math.floor((plotRight - plotLeft) / step));
  const end = Math.min(view.frozenEnd ?? ring.endGlobal, ring.endGlobal);
  const start = Math.max(ring.firstGlobal, end - n);
  view.start = start;
  view.end = end;
  view.step = step;
  view.plotRight = plotRight;

  // Scales from what is visible, with a ceiling that does not twitch.
  let maxPause = 0;
  let maxWait = 0;
  for (let g = start; g < end; g++) {
    const s = g % ring.capacity;
    const origin = pauseOrigin(ring, s);
    if (Number.isNaN(origin)) {
      maxPause = Math.max(maxPause, ring.primaryPause[s]!);
    } else {
      for (let p = 1; p < PHASE_COUNT; p++) {
        const i = s * PHASE_COUNT + p;
        const top = ring.phaseStart[i]! - origin + ring.phaseDuration[i]!;
        if (top > maxPause) maxPause = top;
      }
    }
    const w = ring.phaseDuration[s * PHASE_COUNT]!;
    if (w > maxWait) maxWait = w;
  }
  view.pauseMax = niceCeiling(maxPause, view.pauseMax);
  view.waitMax = niceCeiling(maxWait, view.waitMax);
  const base = TOP + (cssH - TOP - BOTTOM) * UPPER_SHARE;
  const upperH = base - TOP;
  const lowerH = cssH - BOTTOM - base - 2;
  const ky = upperH / view.pauseMax;
  const kw = lowerH / view.waitMax;

  // Grid and axis labels.
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ctx.fillStyle = pal.muted;
  ctx.strokeStyle = pal.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const f of [0.5, 1]) {
    const y = Math.round(base - upperH * f) + 0.5;
    ctx.moveTo(plotLeft, y);
    ctx.lineTo(plotRight, y);
    ctx.fillText(formatAxisMs(view.pauseMax * f), plotLeft - 4, y);
  }
  const yWait = Math.round(base + 2 + lowerH) + 0.5;
  ctx.moveTo(plotLeft, yWait);
  ctx.lineTo(plotRight, yWait);
  ctx.stroke();
  ctx.fillText(formatAxisMs(view.waitMax), plotLeft - 4, yWait);
  ctx.strokeStyle = pal.muted;
  ctx.beginPath();
  ctx.moveTo(plotLeft, Math.round(base) + 0.5);
  ctx.lineTo(plotRight, Math.round(base) + 0.5);
  ctx.stroke();
  ctx.fillText('0', plotLeft - 4, base);
  ctx.save();
  ctx.textAlign = 'left';
  ctx.fillText('paused', 2, base - upperH * 0.25);
  ctx.fillText('wait', 2, base + 2 + lowerH * 0.5);
  ctx.restore();

  if (end <= start) {
    ctx.textAlign = 'center';
    ctx.fillText('No checkpoint cycles yet', (plotLeft + plotRight) / 2, base - upperH / 2);
    return;
  }

  const xOf = (g: number): number => plotRight - (end - g) * step;

  // Wait phase, below the axis.
  ctx.fillStyle = pal.phase.wait;
  for (let g = start; g < end; g++) {
    const s = g % ring.capacity;
    const d = ring.phaseDuration[s * PHASE_COUNT]!;
    if (!(d > 0)) continue;
    const h = Math.max(1, Math.min(lowerH, d * kw));
    ctx.fillRect(xOf(g), base + 2, bw, h);
  }

  // Paused phases, one colour at a time (fewer state changes), at their exact offsets from the pause's start.
  for (let p = 1; p < PHASE_COUNT; p++) {
    ctx.fillStyle = pal.phase[PHASES[p]!];
    for (let g = start; g < end; g++) {
      const s = g % ring.capacity;
      const i = s * PHASE_COUNT + p;
      const st = ring.phaseStart[i]!;
      if (Number.isNaN(st)) continue;
      const origin = pauseOrigin(ring, s);
      const y0 = (st - origin) * ky;
      const h = Math.max(1, ring.phaseDuration[i]! * ky);
      const top = Math.max(TOP, base - y0 - h);
      ctx.fillRect(xOf(g), top, bw, base - y0 - top);
    }
  }
  // Cycles with no phases at all: the pause as one neutral block.
  ctx.fillStyle = pal.muted;
  for (let g = start; g < end; g++) {
    const s = g % ring.capacity;
    if (!Number.isNaN(pauseOrigin(ring, s))) continue;
    const h = Math.max(1, Math.min(upperH, ring.primaryPause[s]! * ky));
    ctx.fillRect(xOf(g), base - h, bw, h);
  }
  // Derived timings: hatched over the whole bar.
  if (hatch !== null) {
    ctx.fillStyle = hatch;
    for (let g = start; g < end; g++) {
      const s = g % ring.capacity;
      if (ring.provenance[s] !== PROVENANCE_DERIVED) continue;
      ctx.fillRect(xOf(g), TOP, bw, cssH - BOTTOM - TOP);
    }
  }
  // Failed cycles: a red strip along the bottom.
  ctx.fillStyle = pal.bad;
  for (let g = start; g < end; g++) {
    const s = g % ring.capacity;
    if (ring.outcome[s] === OUTCOME_FAILED) ctx.fillRect(xOf(g), cssH - BOTTOM + 1, bw, 4);
  }
  // Aborted cycles (given up before they committed or failed): an amber strip in the same place.
  ctx.fillStyle = pal.warn;
  for (let g = start; g < end; g++) {
    const s = g % ring.capacity;
    if (ring.outcome[s] === OUTCOME_ABORTED) ctx.fillRect(xOf(g), cssH - BOTTOM + 1, bw, 4);
  }

  // Trigger markers: a shape per cause.
  const cy = MARKER_TOP + MARKER_H / 2;
  const r = Math.max(1.5, Math.min(bw, MARKER_H) / 2);
  for (let t = 0; t < TRIGGERS.length; t++) {
    const name = TRIGGERS[t]!;
    ctx.fillStyle = pal.trigger[name];
    ctx.strokeStyle = pal.trigger[name];
    ctx.beginPath();
    for (let g = start; g < end; g++) {
      const s = g % ring.capacity;
      if (ring.trigger[s] !== t) continue;
      const cx = xOf(g) + bw / 2;
      if (bw < 4) {
        ctx.rect(cx - 1, cy - 3, 2, 6);
        continue;
      }
      switch (name) {
        case 'miscompare':
          ctx.moveTo(cx, cy - r);
          ctx.lineTo(cx + r, cy + r);
          ctx.lineTo(cx - r, cy + r);
          ctx.closePath();
          break;
        case 'timer':
          ctx.moveTo(cx + r * 0.85, cy);
          ctx.arc(cx, cy, r * 0.85, 0, Math.PI * 2);
          break;
        case 'timeout':
          ctx.rect(cx - r * 0.8, cy - r * 0.8, r * 1.6, r * 1.6);
          break;
        case 'manual':
          ctx.moveTo(cx, cy - r);
          ctx.lineTo(cx + r, cy);
          ctx.lineTo(cx, cy + r);
          ctx.lineTo(cx - r, cy);
          ctx.closePath();
          break;
        case 'initial':
          ctx.moveTo(cx + r * 0.8, cy);
          ctx.arc(cx, cy, r * 0.8, 0, Math.PI * 2);
          break;
      }
    }
    if (name === 'initial' && bw >= 4) ctx.stroke();
    else ctx.fill();
  }

  // Hover and selection outlines.
  ctx.lineWidth = 1.5;
  for (const [g, colour] of [
    [view.hoverGlobal, pal.fg],
    [view.selectedGlobal, pal.fg],
  ] as const) {
    if (g === null || g < start || g >= end) continue;
    ctx.strokeStyle = colour;
    ctx.strokeRect(xOf(g) - 1.5, TOP - 2, bw + 3, cssH - BOTTOM - TOP + 6);
  }

  // First and last sequence numbers on screen, and whether the view is frozen.
  const firstSeq = ring.seq[start % ring.capacity]!;
  const lastSeq = ring.seq[(end - 1) % ring.capacity]!;
  ctx.fillStyle = pal.muted;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.fillText(`#${firstSeq}`, plotLeft, cssH - 3);
  ctx.textAlign = 'right';
  const span = ring.startedAt[(end - 1) % ring.capacity]! - ring.startedAt[start % ring.capacity]!;
  ctx.fillText(`${view.frozenEnd !== null ? 'paused · ' : ''}${end - start} cycles over ${formatMs(span)} · #${lastSeq}`, plotRight, cssH - 3);

  // For the benchmark and e2e: the newest cycle on screen, and when it ended (epoch ms, from its phases).
  if (lastSeq !== view.lastSeqShown) {
    view.lastSeqShown = lastSeq;
    const s = (end - 1) % ring.capacity;
    let cycleEnd = ring.startedAt[s]! + ring.primaryPause[s]!;
    for (let p = 0; p < PHASE_COUNT; p++) {
      const e = ring.startedAt[s]! + ring.phaseStart[s * PHASE_COUNT + p]! + ring.phaseDuration[s * PHASE_COUNT + p]!;
      if (e > cycleEnd) cycleEnd = e;
    }
    canvas.dataset.lastSeq = String(lastSeq);
    canvas.dataset.lastCycleEnd = String(Math.round(cycleEnd));
  }
}
