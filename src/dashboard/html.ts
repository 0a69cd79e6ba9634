// Server-side HTML for the dashboard: the page shell and the fragments (workloads, HPAs, ingress,
// events) that server-sent events swap into it. One renderer, used for the first paint and updates.
import type { IngressSample } from './series.js';
import type { EventView, HpaSample, PodView, WorkloadView } from './view.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Short age like kubectl's AGE column: 45s, 3m12s, 2h5m, 4d. */
export function age(fromIso: string | undefined, now: number): string {
  if (!fromIso) return '';
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d`;
}

/** A CSS class for a pod status: ok, warn (starting, terminating) or bad (crashing, failed). */
export function statusClass(p: PodView): 'ok' | 'warn' | 'bad' {
  if (p.status === 'Running' && p.ready === p.containers) return 'ok';
  if (/BackOff|Err|Fail|Error|OOM|Unknown|ExitCode|Evicted/.test(p.status)) return 'bad';
  return 'warn';
}

function podCard(p: PodView, now: number, flashing: ReadonlySet<string>): string {
  const key = `${p.namespace}/${p.name}`;
  const cls = ['pod', statusClass(p), flashing.has(key) ? 'flash' : ''].filter(Boolean).join(' ');
  return `<li class="${cls}" data-pod="${escapeHtml(key)}" data-status="${escapeHtml(p.status)}" data-restarts="${p.restarts}">
<span class="pod-name">${escapeHtml(p.name)}</span>
<span class="pod-status">${flashing.has(key) ? '<span class="badge">restarted</span> ' : ''}${escapeHtml(p.status)}</span>
<span class="pod-meta">ready ${p.ready}/${p.containers} · restarts <b class="restarts">${p.restarts}</b> · ${age(p.created, now)}${p.podIP ? ` · ${escapeHtml(p.podIP)}` : ''}</span>
</li>`;
}

/** The workloads fragment: one card per Deployment (or group of other pods) with its pods. */
export function renderWorkloads(
  groups: readonly WorkloadView[],
  now: number,
  flashing: ReadonlySet<string> = new Set(),
): string {
  if (groups.length === 0) return '<p class="empty">No pods yet.</p>';
  return groups
    .map((g) => {
      const counts = g.isDeployment
        ? `${g.ready}/${g.desired} ready · ${g.updated} up-to-date · ${g.available} available`
        : `${g.ready}/${g.pods.length} ready`;
      const system = g.namespace.startsWith('kube-') ? ' system' : '';
      // data-desired/data-ready: stable hooks for tests and scripts (the text is for people).
      return `<article class="workload${system}" data-workload="${escapeHtml(`${g.namespace}/${g.name}`)}" data-desired="${g.desired}" data-ready="${g.ready}">
<header><h3>${g.isDeployment ? 'deployment/' : ''}${escapeHtml(g.name)}</h3><span class="ns">${escapeHtml(g.namespace)}</span><span class="counts">${counts}</span></header>
<ul class="pods">${g.pods.map((p) => podCard(p, now, flashing)).join('')}</ul>
</article>`;
    })
    .join('\n');
}

const pct = (v: number | undefined) => (v === undefined ? '–' : `${v}%`);

/** The HPA fragment: one panel per HPA with its numbers and a placeholder its chart moves into. */
export function renderHpas(hpas: readonly HpaSample[]): string {
  if (hpas.length === 0) {
    return '<p class="empty">No HorizontalPodAutoscaler yet (kubectl autoscale deployment …).</p>';
  }
  return hpas
    .map((h) => {
      const key = `${h.namespace}/${h.name}`;
      return `<article class="hpa" data-hpa="${escapeHtml(key)}" data-current="${h.currentReplicas}" data-desired="${h.desiredReplicas}" data-cpu="${h.cpu ?? ''}">
<header><h3>hpa/${escapeHtml(h.name)}</h3><span class="ns">${escapeHtml(h.namespace)}</span><span class="counts">${escapeHtml(h.target)} · min ${h.minReplicas} · max ${h.maxReplicas}</span></header>
<p class="figures">replicas <b class="replicas">${h.currentReplicas}</b> · desired <b class="desired">${h.desiredReplicas}</b> · CPU <b class="cpu">${pct(h.cpu)}</b> of target ${pct(h.cpuTarget)}</p>
<div class="chart" data-chart="hpa:${escapeHtml(key)}"></div>
</article>`;
    })
    .join('\n');
}

/** The ingress fragment: the latest figures and the chart placeholder, or why there are none. */
export function renderIngress(
  last: IngressSample | undefined,
  statsUrl: string | undefined,
): string {
  if (!statsUrl) return '<p class="empty">no ingress stats (no stats endpoint configured)</p>';
  if (!last) {
    return `<p class="empty">no ingress stats yet from ${escapeHtml(statsUrl)}</p><div class="chart" data-chart="ingress"></div>`;
  }
  const ms = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(1)} ms`);
  const held =
    last.held || last.coldStarts
      ? ` · held ${last.held ?? 0} · cold starts ${last.coldStarts ?? 0}`
      : '';
  return `<p class="figures">requests <b class="rps">${last.rps.toFixed(1)}/s</b> · errors <b class="eps">${last.errorsPerSecond.toFixed(1)}/s</b> · p50 ${ms(last.p50)} · p99 ${ms(last.p99)} · total ${last.requests}${held}</p>
<div class="chart" data-chart="ingress"></div>`;
}

/** The events fragment: the newest events first. */
export function renderEvents(events: readonly EventView[], now: number): string {
  if (events.length === 0) return '<p class="empty">No events yet.</p>';
  const rows = events
    .map(
      (e) =>
        `<tr class="${e.type === 'Warning' ? 'warning' : ''}"><td>${age(e.time, now)}</td><td>${escapeHtml(e.type)}</td><td>${escapeHtml(e.reason)}</td><td>${escapeHtml(e.object)}${e.count > 1 ? ` ×${e.count}` : ''}</td><td>${escapeHtml(e.message)}</td></tr>`,
    )
    .join('');
  return `<table class="events"><thead><tr><th>age</th><th>type</th><th>reason</th><th>object</th><th>message</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The page shell with the first paint of every fragment. */
export function renderPage(fragments: Record<string, string>): string {
  const section = (id: string, title: string) =>
    `<section><h2>${title}</h2><div id="${id}">${fragments[id] ?? ''}</div></section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Skiff dashboard</title>
<link rel="stylesheet" href="assets/uPlot.min.css"><link rel="stylesheet" href="assets/app.css">
</head><body>
<header class="top"><h1>Skiff</h1><div id="status">${fragments['status'] ?? ''}</div><span id="conn" class="conn">connecting…</span></header>
<main>
<div class="col">${section('workloads', 'Pods by Deployment')}</div>
<div class="col">${section('hpas', 'Autoscaling')}${section('ingress', 'Traffic through the ingress')}${section('events', 'Events')}</div>
</main>
<script src="assets/uPlot.iife.min.js"></script><script src="assets/app.js"></script>
</body></html>
`;
}
