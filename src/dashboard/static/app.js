// Skiff dashboard client (no build step): swaps server-rendered fragments pushed over server-sent
// events into the page and draws the HPA and ingress charts with uPlot.
(() => {
  const MAX_POINTS = 900;
  const charts = new Map(); // chart key → { plot, data }
  let history = { hpa: {}, ingress: null };
  const conn = document.getElementById('conn');

  const palette = {
    blue: '#3b82f6',
    orange: '#f59e0b',
    green: '#10b981',
    red: '#ef4444',
    grey: '#9ca3af',
  };

  function axisColor() {
    return getComputedStyle(document.body).color || '#888';
  }

  function hpaOptions(width) {
    return {
      width,
      height: 170,
      legend: { live: false },
      scales: {
        x: { time: true },
        n: { range: (_u, _min, max) => [0, Math.max(2, (max ?? 0) + 1)] },
        pct: {
          range: (_u, _min, max) => [0, Math.max(100, Math.ceil(((max ?? 0) + 10) / 50) * 50)],
        },
      },
      series: [
        {},
        { label: 'replicas', scale: 'n', stroke: palette.blue, width: 2 },
        { label: 'desired', scale: 'n', stroke: palette.orange, width: 2, dash: [6, 4] },
        { label: 'CPU %', scale: 'pct', stroke: palette.green, width: 1.5 },
        { label: 'target %', scale: 'pct', stroke: palette.grey, width: 1, dash: [2, 4] },
      ],
      axes: [
        { stroke: axisColor() },
        { scale: 'n', stroke: axisColor(), label: 'replicas' },
        { scale: 'pct', side: 1, stroke: axisColor(), grid: { show: false }, label: 'CPU %' },
      ],
    };
  }

  function ingressOptions(width) {
    return {
      width,
      height: 170,
      legend: { live: false },
      scales: {
        x: { time: true },
        rps: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.1)] },
        ms: { range: (_u, _min, max) => [0, Math.max(5, (max ?? 0) * 1.1)] },
      },
      series: [
        {},
        { label: 'req/s', scale: 'rps', stroke: palette.blue, width: 2 },
        { label: 'errors/s', scale: 'rps', stroke: palette.red, width: 2 },
        { label: 'p50 ms', scale: 'ms', stroke: palette.green, width: 1.5 },
        { label: 'p99 ms', scale: 'ms', stroke: palette.orange, width: 1.5 },
      ],
      axes: [
        { stroke: axisColor() },
        { scale: 'rps', stroke: axisColor(), label: 'req/s' },
        { scale: 'ms', side: 1, stroke: axisColor(), grid: { show: false }, label: 'ms' },
      ],
    };
  }

  function initialData(key) {
    const cols = key === 'ingress' ? history.ingress : history.hpa[key.slice(4)];
    if (cols && cols.length === 5) return cols.map((c) => c.slice());
    return [[], [], [], [], []];
  }

  /** Marks a chart with how many points it holds and each series' peak (hooks for tests). */
  function mark(c) {
    c.plot.root.dataset.points = String(c.data[0].length);
    c.plot.root.dataset.peaks = c.data
      .slice(1)
      .map((col) => col.reduce((m, v) => (v === null || v === undefined || v <= m ? m : v), 0))
      .join(',');
  }

  function chartFor(key, el) {
    let c = charts.get(key);
    if (!c) {
      const width = Math.max(240, el.clientWidth || 400);
      const options = key === 'ingress' ? ingressOptions(width) : hpaOptions(width);
      const data = initialData(key);
      c = { plot: new uPlot(options, data, el), data };
      charts.set(key, c);
      mark(c);
    }
    return c;
  }

  /** Moves each chart into its (possibly freshly rendered) placeholder, creating it on first use. */
  function attachCharts() {
    const seen = new Set();
    for (const el of document.querySelectorAll('[data-chart]')) {
      const key = el.dataset.chart;
      seen.add(key);
      const c = chartFor(key, el);
      if (c.plot.root.parentElement !== el) el.replaceChildren(c.plot.root);
    }
    for (const [key, c] of charts) {
      if (!seen.has(key)) {
        c.plot.destroy();
        charts.delete(key);
      }
    }
  }

  function append(key, row) {
    const c = charts.get(key);
    if (!c || !row) return;
    for (let i = 0; i < c.data.length; i++) {
      c.data[i].push(row[i] ?? null);
      if (c.data[i].length > MAX_POINTS) c.data[i].shift();
    }
    c.plot.setData(c.data);
    mark(c);
  }

  function resize() {
    for (const c of charts.values()) {
      const parent = c.plot.root.parentElement;
      if (parent?.clientWidth) c.plot.setSize({ width: parent.clientWidth, height: 170 });
    }
  }

  const es = new EventSource('events');
  es.onopen = () => {
    conn.textContent = 'live';
    conn.className = 'conn live';
  };
  es.onerror = () => {
    conn.textContent = 'reconnecting…';
    conn.className = 'conn down';
  };
  es.addEventListener('series', (e) => {
    history = JSON.parse(e.data);
    for (const c of charts.values()) c.plot.destroy();
    charts.clear();
    attachCharts();
  });
  es.addEventListener('fragment', (e) => {
    const { id, html } = JSON.parse(e.data);
    const el = document.getElementById(id);
    if (!el) return;
    el.innerHTML = html;
    if (id === 'hpas' || id === 'ingress') attachCharts();
  });
  es.addEventListener('sample', (e) => {
    const s = JSON.parse(e.data);
    for (const [key, row] of Object.entries(s.hpa)) append(`hpa:${key}`, row);
    append('ingress', s.ingress);
    document.body.dataset.samples = String(Number(document.body.dataset.samples ?? 0) + 1);
  });
  window.addEventListener('resize', resize);
  attachCharts();
})();
