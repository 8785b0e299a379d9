// A window of a group's DAG drawn as SVG: dagre lays the nodes out left to right, and each
// node's colour follows its task's live status. Parents outside the window are drawn faded, so
// every edge into the window is visible; parents in other groups are drawn with a dotted border and
// link into their group, and one that cannot be read says so. The layout is recomputed only when
// the window's nodes or edges change; status changes only repaint.
import { useMemo } from 'preact/hooks';
import dagre from '@dagrejs/dagre';
import { html } from '../html.js';
import { href } from '../router.js';
import { shortId, taskStatus } from '../status.js';

const W = 150;
const H = 36;

function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 48, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of nodes) g.setNode(id, { width: W, height: H });
  for (const [from, to] of edges) g.setEdge(from, to);
  dagre.layout(g);
  const pos = new Map(nodes.map((id) => [id, g.node(id)]));
  const paths = edges.map(([from, to]) => ({ from, to, points: g.edge(from, to).points }));
  const { width, height } = g.graph();
  return { pos, paths, width, height };
}

// At most n characters (code points: a cut inside a surrogate pair drew a broken glyph), the
// last an ellipsis when it is cut.
const clip = (text, n) => {
  const chars = Array.from(text);
  return chars.length > n ? chars.slice(0, n - 1).join('') + '…' : text;
};
const path = (points) => points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');

// A parent not read (yet): its id, and whether it was not found.
function UnreadNode({ id, missing, at }) {
  return html`<g class="node node-unread${missing ? ' missing' : ''}" data-task=${id}
      transform="translate(${at.x - W / 2},${at.y - H / 2})">
    <rect width=${W} height=${H} rx="6" />
    <text x="8" y="15" class="node-name"><tspan class="node-sub">task </tspan>${shortId(id)}</text>
    <text x="8" y="29" class="node-sub">${missing ? 'not found' : '…'}</text>
    <title>${id}: ${missing ? 'not found (deleted?)' : 'being read'}</title>
  </g>`;
}

// `parent(id)` is a task of the group or of another one (GroupModel.parent).
export function Dag({ groupId, window, parent, groupPaused, selected }) {
  // The window's ids, plus parents outside it (context, or of other groups), and the edges between them.
  const shape = useMemo(() => {
    const inside = new Set(window.map((t) => t._id));
    const nodes = new Set(inside);
    const edges = [];
    for (const t of window) {
      for (const p of t.parentIds) {
        nodes.add(p);
        edges.push([p, t._id]);
      }
    }
    return { inside, nodes: [...nodes], edges, key: [...nodes].join() + '|' + edges.join() };
  }, [window]);
  const drawn = useMemo(() => layout(shape.nodes, shape.edges), [shape.key]);

  if (!window.length) return html`<p class="empty">No tasks to draw.</p>`;
  return html`<div class="dag-scroll">
    <svg class="dag" width=${drawn.width} height=${drawn.height} viewBox="0 0 ${drawn.width} ${drawn.height}">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6" /></marker></defs>
      ${drawn.paths.map((e) => html`<path key=${e.from + e.to} class="edge" d=${path(e.points)} marker-end="url(#arrow)" />`)}
      ${shape.nodes.map((id) => {
        const t = parent(id);
        const p = drawn.pos.get(id);
        if (!p) return null;
        if (t.name === undefined) return html`<${UnreadNode} key=${id} id=${id} missing=${t.missing} at=${p} />`;
        const own = t.taskGroupId === groupId;
        const status = taskStatus(t, own && groupPaused);
        const place = own ? (shape.inside.has(id) ? '' : ' context') : ' external';
        const cls = `node node-${status}${place}${selected === id ? ' selected' : ''}`;
        return html`<a key=${id} href=${href(`group/${t.taskGroupId}/task/${id}`)} data-task=${id} data-status=${status}>
          <g class=${cls} transform="translate(${p.x - W / 2},${p.y - H / 2})">
            <rect width=${W} height=${H} rx="6" />
            <text x="8" y="15" class="node-name">${clip(t.name, 20)}</text>
            <text x="8" y="29" class="node-sub">${status} · ${own ? clip(t.channel, 14) : 'other group'}</text>
            <title>${t.name} (${t.channel}${own ? '' : ', in another group'}): ${status}</title>
          </g></a>`;
      })}
    </svg>
  </div>`;
}
