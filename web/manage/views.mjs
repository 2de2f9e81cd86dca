// views.mjs: what each dashboard view draws from its API answer. Every
// render function takes a Card and the parsed JSON, draws the chart(s) and
// the table with the same numbers, and sets the card's state (ready, or
// empty with a sentence saying why). Values the API withheld (null) stay
// null in the charts (a gap, never a bar of 0) and read "withheld" in
// tables and labels.

import { COLOURS } from './card.mjs';
import { fmtCount, fmtRate, fmtRateTick, fmtShare, withheldText } from './format.mjs';

const BAR_ROW_PX = 30; // height of one bar in a horizontal bar chart

function barHeight(n) {
  return Math.max(160, n * BAR_ROW_PX + 70);
}

// A category label that says when its value is withheld.
function labelled(name, value) {
  return value === null ? `${name} (${withheldText()})` : name;
}

// A table column of counts (null reads "withheld").
const countCol = (key, label) => ({ key, label, numeric: true, fmt: fmtCount });

const rateAxis = {
  beginAtZero: true,
  ticks: { callback: (v) => fmtRateTick(v) },
};

function rateTooltip(ctx) {
  return `${ctx.dataset.label}: ${fmtRate(ctx.raw)}`;
}

function countTooltip(ctx) {
  return `${ctx.dataset.label}: ${fmtCount(ctx.raw)}`;
}

// One horizontal bar chart of a single series, the common case.
function hbar(card, name, label, labels, key, values, fmt = fmtCount) {
  card.chart(name, label, {
    type: 'bar',
    data: {
      labels,
      datasets: [{ key, label, data: values, backgroundColor: COLOURS[0] }],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${fmt(ctx.raw)}` } },
      },
      scales: { x: fmt === fmtRate ? rateAxis : { beginAtZero: true } },
    },
  }, barHeight(labels.length));
}

// Running totals are published only on some days: the line joins the
// published points, dashed across the withheld periods (which stay null in
// the data), so that it never shows a value where there is none.
const acrossGaps = {
  spanGaps: true,
  pointRadius: 4,
  segment: { borderDash: (ctx) => (ctx.p0.skip || ctx.p1.skip ? [4, 4] : undefined) },
};

// GET /v1/stats/enrollment: {series: [{period, enrolled, left, net,
// members, population, opt_in_rate}]}
export function renderEnrollment(card, data, scope) {
  card.clear();
  const series = Array.isArray(data.series) ? data.series : [];
  if (series.length === 0) {
    card.setState('empty', `No enrolment data for ${scope}.`);
    return;
  }
  const labels = series.map((r) => r.period);
  const col = (k) => series.map((r) => r[k]);
  card.chart('members', `Members against population, with opt-in rate, ${scope}`, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { key: 'members', label: 'Members', data: col('members'), borderColor: COLOURS[0],
          backgroundColor: 'rgba(0,114,178,0.15)', fill: true, yAxisID: 'y', ...acrossGaps },
        // Hidden until its legend entry is clicked: next to the whole
        // population the members line would lie flat on the axis.
        { key: 'population', label: 'Population', data: col('population'), borderColor: COLOURS[6],
          borderDash: [6, 4], pointRadius: 0, yAxisID: 'y', hidden: true },
        { key: 'opt_in_rate', label: 'Opt-in rate', data: col('opt_in_rate'), borderColor: COLOURS[3],
          yAxisID: 'rate', ...acrossGaps },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: {
        tooltip: {
          callbacks: { label: (ctx) => (ctx.dataset.key === 'opt_in_rate' ? rateTooltip(ctx) : countTooltip(ctx)) },
        },
      },
      scales: {
        y: { beginAtZero: true, title: { display: true, text: 'people' } },
        rate: { ...rateAxis, position: 'right', grid: { drawOnChartArea: false },
          title: { display: true, text: 'opt-in rate' } },
      },
    },
  });
  card.chart('flow', `Enrolments and departures per period, ${scope}`, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { key: 'enrolled', label: 'Enrolled', data: col('enrolled'), backgroundColor: COLOURS[2] },
        { key: 'left', label: 'Left', data: col('left'), backgroundColor: COLOURS[1] },
        { key: 'net', label: 'Net', data: col('net'), type: 'line', borderColor: COLOURS[0] },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: { tooltip: { callbacks: { label: countTooltip } } },
    },
  }, 220);
  card.table(`Enrolment per period, ${scope}`, [
    { key: 'period', label: 'Period', head: true },
    countCol('enrolled', 'Enrolled'),
    countCol('left', 'Left'),
    countCol('net', 'Net'),
    countCol('members', 'Members'),
    { key: 'members_as_of', label: 'Members as of', fmt: (v) => v ?? '–' },
    countCol('population', 'Population'),
    { key: 'opt_in_rate', label: 'Opt-in rate', numeric: true, fmt: fmtRate },
  ], series, 'period');
  if (series.some((r) => r.members === null)) {
    card.note.textContent = `${card.note.textContent} Member counts (and so opt-in rates) are `.trimStart()
      + 'published only as of a day when they cannot reveal a small group’s comings and goings '
      + '(“Members as of” in the table); a period without such a day shows none, and the line is dashed across it.';
  }
  card.setState('ready');
}

// The common view: one horizontal bar per row of `rows`. spec: title,
// empty (the sentence when there are no rows), name(row) for the bar's
// label, key (the field drawn), fmt (fmtCount or fmtRate), caption and
// columns of the table, rowKey (the field naming a row).
function barView(card, rows, spec) {
  card.clear();
  if (rows.length === 0) {
    card.setState('empty', spec.empty);
    return;
  }
  hbar(card, card.id, spec.title, rows.map((r) => labelled(spec.name(r), r[spec.key])), spec.key,
    rows.map((r) => r[spec.key]), spec.fmt);
  card.table(spec.caption || spec.title, spec.columns, rows, spec.rowKey);
  card.setState('ready');
}

// overview.districts: [{code, name, members, population, opt_in_rate}]
export function renderDistricts(card, overview) {
  barView(card, overview.districts || [], {
    title: 'Opt-in rate per district',
    empty: 'No districts are set up yet (PUT /v1/admin/districts/{code}).',
    name: (d) => d.name || d.code,
    key: 'opt_in_rate',
    fmt: fmtRate,
    rowKey: 'code',
    columns: [
      { key: 'name', label: 'District', head: true, fmt: (v, r) => `${v || r.code} (${r.code})` },
      countCol('members', 'Members'),
      countCol('population', 'Population'),
      { key: 'opt_in_rate', label: 'Opt-in rate', numeric: true, fmt: fmtRate },
    ],
  });
}

const FUNNEL_STAGES = [
  ['enrolled', 'Enrolled'],
  ['earned', 'Earned points'],
  ['redeemed', 'Redeemed a perk'],
];

// overview.funnel: {enrolled, earned, redeemed}
export function renderFunnel(card, overview) {
  const f = overview.funnel || {};
  const rows = f.enrolled === 0 ? []
    : FUNNEL_STAGES.map(([stage, label]) => ({ stage, label, members: f[stage] }));
  barView(card, rows, {
    title: 'Funnel: enrolled, earned, redeemed',
    caption: 'Funnel from enrolment to redemption',
    empty: 'Nobody has enrolled yet.',
    name: (r) => r.label,
    key: 'members',
    fmt: fmtCount,
    rowKey: 'stage',
    columns: [
      { key: 'label', label: 'Stage', head: true },
      countCol('members', 'Members'),
      { key: 'share', label: 'Share of enrolled', numeric: true, nullIsNone: true,
        fmt: (v, r) => fmtShare(r.members, f.enrolled) },
    ],
  });
}

// overview.redemptions_per_perk: [{perk_id, title, redemptions, points}]
export function renderPerks(card, overview) {
  barView(card, overview.redemptions_per_perk || [], {
    title: 'Redemptions per perk',
    empty: 'No perk has been redeemed yet.',
    name: (r) => r.title || r.perk_id,
    key: 'redemptions',
    fmt: fmtCount,
    rowKey: 'perk_id',
    columns: [
      { key: 'title', label: 'Perk', head: true, fmt: (v, r) => v || r.perk_id },
      countCol('redemptions', 'Redemptions'),
      countCol('points', 'Points spent'),
    ],
  });
}

// overview.awards_per_rule: [{rule, title, awards, points}]
export function renderRules(card, overview) {
  barView(card, overview.awards_per_rule || [], {
    title: 'Awards per rule',
    caption: 'Awards per earning rule',
    empty: 'No points have been awarded yet.',
    name: (r) => r.title || r.rule,
    key: 'awards',
    fmt: fmtCount,
    rowKey: 'rule',
    columns: [
      { key: 'title', label: 'Rule', head: true, fmt: (v, r) => (v ? `${v} (${r.rule})` : r.rule) },
      countCol('awards', 'Awards'),
      countCol('points', 'Points awarded'),
    ],
  });
}

// overview.channels: [{channel, enrolled}]; '' is a direct sign-up.
export function renderChannels(card, overview) {
  barView(card, (overview.channels || []).map((c) => ({ ...c, name: c.channel || '(direct sign-up)' })), {
    title: 'Enrolments per channel',
    caption: 'Enrolments per channel (campaign code)',
    empty: 'Nobody has enrolled yet.',
    name: (r) => r.name,
    key: 'enrolled',
    fmt: fmtCount,
    rowKey: 'channel',
    columns: [
      { key: 'name', label: 'Channel', head: true },
      countCol('enrolled', 'Enrolled'),
    ],
  });
}

// campaigns: [{campaign (from /v1/admin/campaigns), stats (from
// /v1/stats/campaigns/{id}) or error}]; csvButton(row) makes the per-row
// download button.
export function renderCampaigns(card, campaigns, csvButton, truncated) {
  card.clear();
  if (campaigns.length === 0) {
    card.setState('empty', 'No campaigns yet (POST /v1/admin/campaigns).');
    return;
  }
  // Name, code and target come from the campaign itself (the list); the
  // figures from its stats.
  const rows = campaigns.map(({ campaign, stats, error }) => ({
    id: campaign.id,
    name: campaign.name,
    code: campaign.code,
    runs: `${String(campaign.starts_at || '').slice(0, 10)} – ${String(campaign.ends_at || '').slice(0, 10)}`,
    enrolled: stats ? stats.enrolled : undefined,
    target: campaign.enrollment_target ?? null,
    progress: stats?.progress,
    activation_rate: stats?.activation_rate,
    bonus_points: stats?.bonus_points,
    error,
  }));
  const withTarget = rows.filter((r) => r.target !== null && r.target !== undefined);
  card.chart('campaigns', 'Campaign enrolments against their targets', {
    type: 'bar',
    data: {
      labels: rows.map((r) => labelled(r.name, r.enrolled)),
      datasets: [
        { key: 'enrolled', label: 'Enrolled', data: rows.map((r) => r.enrolled ?? null), backgroundColor: COLOURS[0] },
        { key: 'target', label: 'Target', data: rows.map((r) => r.target ?? null), backgroundColor: 'rgba(0,0,0,0.18)',
          borderColor: COLOURS[6], borderWidth: 1 },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: { tooltip: { callbacks: { label: countTooltip } } },
      scales: { x: { beginAtZero: true } },
    },
  }, barHeight(rows.length * 1.6));
  card.table('Campaign progress against targets', [
    { key: 'name', label: 'Campaign', head: true, fmt: (v, r) => `${v} (${r.code})` },
    { key: 'runs', label: 'Runs' },
    { key: 'enrolled', label: 'Enrolled', numeric: true,
      fmt: (v, r) => (r.error ? `error: ${r.error}` : fmtCount(v)) },
    { key: 'target', label: 'Target', numeric: true, nullIsNone: true,
      fmt: (v) => (v === null ? 'no target' : fmtCount(v)) },
    { key: 'progress', label: 'Progress', numeric: true, nullIsNone: (r) => r.target === null,
      fmt: (v, r) => (r.target === null ? '–' : fmtRate(v)) },
    { key: 'activation_rate', label: 'Earned within 30 days', numeric: true, fmt: fmtRate },
    countCol('bonus_points', 'Bonus points'),
    { key: 'id', label: 'Data', render: (v, r) => csvButton(r) },
  ], rows, 'id');
  if (truncated) {
    card.note.textContent = `${card.note.textContent} Only the first ${rows.length} campaigns are shown.`.trim();
  }
  card.setState('ready', withTarget.length === 0 ? 'No campaign has an enrolment target.' : '');
}

// overview: the key figures above the views.
export function renderKpis(dl, overview) {
  const p = overview.points || {};
  const items = [
    ['members', 'Members', fmtCount(overview.members)],
    ['population', 'Population', fmtCount(overview.population)],
    ['opt_in_rate', 'Opt-in rate', fmtRate(overview.opt_in_rate)],
    ['awarded', 'Points awarded', fmtCount(p.awarded)],
    ['redeemed', 'Points redeemed', fmtCount(p.redeemed)],
    ['outstanding', 'Points outstanding', fmtCount(p.outstanding)],
  ];
  const raw = { members: overview.members, population: overview.population,
    opt_in_rate: overview.opt_in_rate, ...p };
  dl.replaceChildren();
  for (const [key, label, text] of items) {
    const div = document.createElement('div');
    div.dataset.key = key;
    div.dataset.value = raw[key] === null ? 'null' : String(raw[key] ?? '');
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = text;
    if (raw[key] === null) dd.classList.add('withheld');
    div.append(dt, dd);
    // Member counts are published as of an earlier day (docs/stats.md,
    // "member counts"): say which.
    if (key === 'members' && overview.members_as_of) {
      const asOf = document.createElement('dd');
      asOf.className = 'as-of';
      asOf.textContent = `as of ${overview.members_as_of}`;
      div.append(asOf);
    }
    dl.append(div);
  }
}
