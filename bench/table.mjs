// Turns the raw results of bench/run.mjs into tables, for the terminal (run.mjs) and for
// docs/benchmarks.md (report.mjs), so that both show the same figures the same way.

/** The servers compared against ninetd, in the order of the ratio columns. */
export const ANCHORS = ['openbsd-inetd', 'xinetd', 'tcpserver'];

const MiB = 1024;

function fixed(n, digits) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function rate(n) {
  return typeof n === 'number' ? String(Math.round(n)) : '-';
}

/** Latency in ms with a precision that suits its size. */
function ms(n) {
  if (typeof n !== 'number') return '-';
  return n < 1 ? n.toFixed(3) : n < 100 ? n.toFixed(2) : n.toFixed(0);
}

function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return '-';
  return `${(a / b).toFixed(2)}x`;
}

/** One row per run: scenario, clients, server and what was measured. */
export function resultsTable(data) {
  const headers = [
    'scenario',
    'clients',
    'server',
    'req/s',
    'rounds req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'sup. CPU µs/req',
    'RSS idle MiB',
    'RSS after MiB',
    'gen. CPU',
  ];
  const rows = data.results.map((r) => {
    if (!r.ok) {
      return [r.scenario, String(r.clients), r.label, `failed: ${r.error}`, '', '', '', '', '', '', '', ''];
    }
    return [
      r.scenario,
      String(r.clients),
      r.label,
      rate(r.rate),
      // Every round's req/s: how far apart they are says how steady the machine was.
      r.round_rates ? r.round_rates.map(rate).join(' / ') : '-',
      ms(r.p50_ms),
      ms(r.p99_ms),
      String(r.errors),
      fixed(r.cpu_ms_per_req * 1000, 0),
      fixed(r.rss_idle_kb / MiB, 1),
      fixed(r.rss_after_kb / MiB, 1),
      // The generator's own CPU over the run, in % of one core: near 100% means it, not the
      // server, was the limit.
      `${Math.round((100 * r.loadgen_cpu_s) / r.seconds)}%`,
    ];
  });
  return { headers, rows };
}

/**
 * ninetd's throughput divided by each other server's, per scenario and client count; marked
 * with a star where the other server had errors.
 */
export function ratiosTable(data) {
  const headers = ['scenario', 'clients', 'ninetd req/s', '/ C limit', '/ C vfork', '/ C vfork+setsid', ...ANCHORS.map((a) => `/ ${a}`)];
  const rows = [];
  const find = (scenario, clients, server) =>
    data.results.find((r) => r.ok && r.scenario === scenario && r.clients === clients && r.server === server);
  for (const sc of data.scenarios) {
    for (const clients of data.settings.clients) {
      const n = find(sc.id, clients, 'ninetd');
      if (!n && !data.results.some((r) => r.scenario === sc.id && r.clients === clients)) continue;
      const row = [sc.id, String(clients), n ? rate(n.rate) : 'failed'];
      for (const other of ['c-limit', 'c-vfork', 'c-vfork-setsid', ...ANCHORS]) {
        const o = find(sc.id, clients, other);
        // A star: the other server lost requests, so its rate is not a fair denominator.
        row.push(n && o ? `${ratio(n.rate, o.rate)}${o.errors > 0 ? '*' : ''}` : '-');
      }
      rows.push(row);
    }
  }
  return { headers, rows };
}

/** The RSS soak: ninetd's memory after the first part of the connections and after all. */
export function soakTable(data) {
  const headers = ['connections', 'clients', 'errors', 'seconds', 'RSS MiB', 'peak RSS MiB'];
  const s = data.soak;
  if (!s || !s.ok) return { headers, rows: [] };
  const rows = s.steps.map((st) => [
    String(st.total),
    String(s.clients),
    String(st.errors),
    fixed(st.seconds, 1),
    fixed(st.rss_kb / MiB, 1),
    fixed(st.hwm_kb / MiB, 1),
  ]);
  rows.unshift(['0 (idle)', '', '', '', fixed(s.rss_idle_kb / MiB, 1), '']);
  return { headers, rows };
}

/** Start-up and reload at scale, each server's row with ninetd's ratio to openbsd-inetd. */
export function scaleTable(data) {
  const headers = ['services', 'server', 'ready ms', 'all bound', 'start CPU ms', 'reload +1 ms', 'reload CPU ms', 'RSS MiB', 'ready / openbsd-inetd', 'reload / openbsd-inetd'];
  const rows = [];
  for (const r of data.scale ?? []) {
    if (!r.ok) {
      rows.push([String(r.services), r.server, `failed: ${r.error}`, '', '', '', '', '', '', '']);
      continue;
    }
    const o = r.server === 'ninetd' ? (data.scale ?? []).find((x) => x.ok && x.server === 'openbsd-inetd' && x.services === r.services) : null;
    rows.push([
      String(r.services),
      r.server,
      fixed(r.start_ms, 0),
      `${r.bound}/${r.services}`,
      fixed(r.start_cpu_ms, 0),
      fixed(r.reload_ms, 0),
      fixed(r.reload_cpu_ms, 0),
      fixed(r.rss_kb / MiB, 1),
      o ? ratio(r.start_ms, o.start_ms) : '-',
      o ? ratio(r.reload_ms, o.reload_ms) : '-',
    ]);
  }
  return { headers, rows };
}

/** The exec load on the first of N services, ninetd against openbsd-inetd with the same table. */
export function scaleExecTable(data) {
  const headers = ['services', 'server', 'c1 req/s', 'c1 CPU µs/exec', 'c32 req/s', 'c32 CPU µs/exec', 'c1 / openbsd-inetd', 'c32 / openbsd-inetd'];
  const rows = [];
  for (const r of data.scale ?? []) {
    if (!r.ok || !r.exec) continue;
    const o = r.server === 'ninetd' ? (data.scale ?? []).find((x) => x.ok && x.exec && x.server === 'openbsd-inetd' && x.services === r.services) : null;
    const e = r.exec;
    const served = (x) => rate(x.rate) + (x.errors ? '*' : '');
    rows.push([
      String(r.services),
      r.server,
      served(e[1]),
      fixed(e[1].us_per_req, 0),
      served(e[32]),
      fixed(e[32].us_per_req, 0),
      o ? ratio(e[1].rate, o.exec[1].rate) : '-',
      o ? ratio(e[32].rate, o.exec[32].rate) : '-',
    ]);
  }
  return { headers, rows };
}

/** Aligned plain text, for the terminal. */
export function toText({ headers, rows }) {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r) =>
    r
      .map((c, i) => (i < 3 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A Markdown table, numbers right-aligned. */
export function toMarkdown({ headers, rows }) {
  const esc = (c) => String(c ?? '').replace(/\|/g, '\\|');
  const out = [`| ${headers.map(esc).join(' | ')} |`];
  out.push(`|${headers.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) out.push(`| ${r.map(esc).join(' | ')} |`);
  return out.join('\n');
}
