import { useEffect, useRef, useState, type PointerEvent } from 'react';

/** Sharp enough on high-density screens, small enough for the server's limits (4000 px a side). */
const MAX_PIXEL_RATIO = 2;
const INK = '#1b1f24';

/**
 * A pad to draw a signature on with a mouse, a finger or a pen (pointer events). The drawing is
 * handed back as a PNG, base64 without the data: prefix, after each stroke; null once cleared.
 * It cannot be used with a keyboard, so the signing form always offers a typed signature too; the
 * pad says so in its description.
 */
export function SignaturePad({ id, describedBy, invalid, onChange }: { id: string; describedBy?: string; invalid?: boolean; onChange: (png: string | null) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<number | null>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [inked, setInked] = useState(false);

  // The drawing surface matches the box it is shown in, times the screen's pixel density.
  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const box = element.getBoundingClientRect();
    const ratio = Math.min(window.devicePixelRatio || 1, MAX_PIXEL_RATIO);
    element.width = Math.max(1, Math.round(box.width * ratio));
    element.height = Math.max(1, Math.round(box.height * ratio));
    const context = element.getContext('2d');
    if (!context) return;
    context.scale(ratio, ratio);
    context.lineWidth = 2.5;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.strokeStyle = INK;
    context.fillStyle = INK;
  }, []);

  function point(event: PointerEvent<HTMLCanvasElement>): { x: number; y: number } {
    const box = event.currentTarget.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  function start(event: PointerEvent<HTMLCanvasElement>) {
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    event.preventDefault();
    event.currentTarget.setPointerCapture(event.pointerId);
    drawing.current = event.pointerId;
    const at = point(event);
    last.current = at;
    // A tap leaves a dot, as a pen would.
    const context = event.currentTarget.getContext('2d');
    context?.beginPath();
    context?.arc(at.x, at.y, 1.25, 0, Math.PI * 2);
    context?.fill();
  }

  function move(event: PointerEvent<HTMLCanvasElement>) {
    if (drawing.current !== event.pointerId || !last.current) return;
    const context = event.currentTarget.getContext('2d');
    if (!context) return;
    // Fast strokes arrive as several points per event; draw through each.
    const events = typeof event.nativeEvent.getCoalescedEvents === 'function' ? event.nativeEvent.getCoalescedEvents() : [];
    const box = event.currentTarget.getBoundingClientRect();
    const points = events.length > 0 ? events.map((e) => ({ x: e.clientX - box.left, y: e.clientY - box.top })) : [point(event)];
    context.beginPath();
    context.moveTo(last.current.x, last.current.y);
    for (const p of points) context.lineTo(p.x, p.y);
    context.stroke();
    last.current = points[points.length - 1]!;
  }

  function end(event: PointerEvent<HTMLCanvasElement>) {
    if (drawing.current !== event.pointerId) return;
    drawing.current = null;
    last.current = null;
    setInked(true);
    onChange(event.currentTarget.toDataURL('image/png').replace(/^data:image\/png;base64,/, ''));
  }

  function clear() {
    const element = canvas.current;
    if (!element) return;
    element.getContext('2d')?.clearRect(0, 0, element.width, element.height);
    setInked(false);
    onChange(null);
  }

  return (
    <div className="signature-pad">
      <canvas
        id={id}
        ref={canvas}
        className={`signature-pad__canvas${invalid ? ' signature-pad__canvas--invalid' : ''}`}
        role="img"
        // Not a control for the keyboard (typed signatures are), but the error summary can lead here.
        tabIndex={-1}
        aria-label={inked ? 'Signature pad, with your signature drawn on it' : 'Signature pad, empty'}
        aria-describedby={describedBy}
        onPointerDown={start}
        onPointerMove={move}
        onPointerUp={end}
        onPointerCancel={end}
      />
      <div className="button-row">
        <button className="button button--small button--secondary" type="button" onClick={clear} disabled={!inked}>
          Clear the signature pad
        </button>
      </div>
      <div role="status" className="status-region">
        {inked && <p className="visually-hidden">Your signature is drawn.</p>}
      </div>
    </div>
  );
}
