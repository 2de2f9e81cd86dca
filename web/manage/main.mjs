// main.mjs: the dashboard's life cycle. Asks for the manager key once
// (sessionStorage), loads the overview, the enrolment series and the
// campaigns, hands each answer to its view, and turns failures into the
// right state: a bad key back to the key form (401/403), a database that
// is down into a notice with Retry (503), anything else into an error on
// the card that asked.

import {
  ApiError, apiJson, apiList, checkKey, downloadCsv, forgetKey, getKey, setKey,
} from './api.mjs';
import { Card, chartsAvailable } from './card.mjs';
import { setMinGroup } from './format.mjs';
import {
  renderCampaigns, renderChannels, renderDistricts, renderEnrollment, renderFunnel,
  renderKpis, renderPerks, renderRules,
} from './views.mjs';

const MAX_CAMPAIGNS = 50; // campaigns shown; each costs one stats call
const CAMPAIGN_FETCHES = 4; // stats calls in flight at once

const $ = (id) => document.getElementById(id);

const ui = {
  login: $('login'),
  keyForm: $('key-form'),
  key: $('key'),
  keyError: $('key-error'),
  dashboard: $('dashboard'),
  forget: $('forget'),
  notice: $('notice'),
  noticeText: $('notice-text'),
  retry: $('notice-retry'),
  status: $('status'),
  filters: $('filters'),
  from: $('f-from'),
  to: $('f-to'),
  district: $('f-district'),
  interval: $('f-interval'),
  filterError: $('filter-error'),
  filterScope: $('filter-scope'),
  kpis: $('kpis'),
  views: $('views'),
};

// The range shown first: the last DEFAULT_DAYS days up to today, per week.
// Explicit dates, so that the page says exactly what it shows (the API's
// own default range is not the dashboard's business).
const DEFAULT_DAYS = 90;
const DEFAULT_INTERVAL = 'week';

// Answers of a superseded load are dropped: pageGen moves with every full
// load (and "Forget key"), enrollGen also with every new filter, so that a
// filter never drops the campaigns or the overview still on their way.
let pageGen = 0;
let enrollGen = 0;
let cards = null;

// ---- filters ------------------------------------------------------------

function filters() {
  return {
    from: ui.from.value,
    to: ui.to.value,
    district: ui.district.value,
    interval: ui.interval.value,
  };
}

function enrollmentParams() {
  return filters();
}

// Words for the range and district the enrolment view shows.
function scopeText() {
  const f = filters();
  const where = f.district
    ? ui.district.selectedOptions[0]?.textContent || f.district
    : 'all districts';
  let when = 'the API\u2019s default range';
  if (f.from && f.to) when = `${f.from} to ${f.to}`;
  else if (f.from) when = `from ${f.from}`;
  else if (f.to) when = `up to ${f.to}`;
  return `${where}, ${when}, per ${f.interval}`;
}

// A date as YYYY-MM-DD in the browser's time zone.
function isoDay(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function setDefaultFilters() {
  const today = new Date();
  const from = new Date(today);
  from.setDate(from.getDate() - (DEFAULT_DAYS - 1));
  ui.from.value = isoDay(from);
  ui.to.value = isoDay(today);
  ui.interval.value = DEFAULT_INTERVAL;
}

function checkFilters() {
  const { from, to } = filters();
  if (from && to && from > to) return '“From” must not be after “To”.';
  return '';
}

// The district list comes from the overview; keeps the current choice.
function fillDistricts(districts) {
  const current = ui.district.value;
  const opts = [new Option('All districts', '')];
  for (const d of districts) opts.push(new Option(d.name ? `${d.name} (${d.code})` : d.code, d.code));
  ui.district.replaceChildren(...opts);
  ui.district.value = districts.some((d) => d.code === current) ? current : '';
}

// ---- states -------------------------------------------------------------

function setStatus(text) {
  ui.status.textContent = text;
}

function showNotice(text, retry) {
  ui.noticeText.textContent = text;
  ui.retry.hidden = !retry;
  ui.notice.hidden = false;
}

function hideNotice() {
  ui.notice.hidden = true;
}

function showLogin(message = '') {
  // Nothing of the last key's figures stays behind for the next one.
  cards?.forEach((c) => c.clear());
  ui.kpis.replaceChildren();
  ui.dashboard.hidden = true;
  ui.forget.hidden = true;
  ui.login.hidden = false;
  ui.keyError.textContent = message;
  ui.key.setAttribute('aria-invalid', String(message !== ''));
  document.body.dataset.state = message ? 'bad-key' : 'login';
  ui.key.focus();
}

function showDashboard() {
  ui.login.hidden = true;
  ui.dashboard.hidden = false;
  ui.forget.hidden = false;
  ui.keyError.textContent = '';
}

// Every card waits for Retry; the last figures shown are kept on none of
// them, so nothing stale passes for current.
function holdCards(text) {
  setStatus('');
  ui.kpis.replaceChildren();
  cards?.forEach((c) => {
    c.clear();
    c.setState('error', text);
  });
}

// What a failed call means for the whole page. Returns true when it was
// handled here (the page changed state), false when the caller should
// show it on its own card.
function handleFatal(err) {
  if (!(err instanceof ApiError)) return false;
  if (err.status === 401) {
    forgetKey();
    showLogin('The server did not accept this key (401 Unauthorized). '
      + 'Check that you pasted the whole key, or ask for a new one.');
    return true;
  }
  if (err.status === 403) {
    forgetKey();
    showLogin('This key is not a manager key (403 Forbidden): it may not read '
      + 'programme statistics. Use a key of an organisation with the manager role.');
    return true;
  }
  if (err.status === 503) {
    document.body.dataset.state = 'unavailable';
    holdCards('Not loaded: the service is unavailable.');
    showNotice('Statistics are unavailable right now (503 Service Unavailable): the database '
      + `or the service is down.${err.problem.detail ? ` The server says: “${err.problem.detail}”` : ''} `
      + 'Your key is fine and nothing was lost; try again in a moment.', true);
    return true;
  }
  if (err.status === 429) {
    document.body.dataset.state = 'unavailable';
    holdCards('Not loaded: too many requests.');
    showNotice('Too many requests from this address (429). Wait a few seconds, then retry.', true);
    return true;
  }
  if (err.status === 0) {
    document.body.dataset.state = 'offline';
    holdCards('Not loaded: the server could not be reached.');
    showNotice('The server could not be reached. Check your connection, then retry.', true);
    return true;
  }
  return false;
}

function describe(err) {
  if (err instanceof ApiError) {
    const code = err.problem.code ? ` [${err.problem.code}]` : '';
    return `Could not load this view: ${err.message} (HTTP ${err.status})${code}.`;
  }
  return `Could not show this view: ${err.message}`;
}

function cardError(card, err) {
  if (!handleFatal(err)) card.setState('error', describe(err));
}

// ---- CSV ----------------------------------------------------------------

async function csv(card, path, params, name) {
  const btn = card.csvButton;
  if (btn) btn.disabled = true;
  setStatus(`Preparing ${name}…`);
  try {
    const saved = await downloadCsv(path, params, name);
    setStatus(`Downloaded ${saved}.`);
  } catch (err) {
    if (!handleFatal(err)) setStatus(`CSV download failed: ${err.message}`);
  } finally {
    if (btn) btn.disabled = false;
  }
}

function csvName(view) {
  const f = filters();
  const parts = ['perkd', view];
  if (view === 'enrollment') {
    if (f.district) parts.push(f.district);
    if (f.from) parts.push(f.from);
    if (f.to) parts.push(f.to);
    parts.push(f.interval);
  }
  return `${parts.join('-').replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
}

function campaignCsvButton(row) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'quiet csv-row';
  b.textContent = 'CSV';
  b.setAttribute('aria-label', `Download CSV: campaign ${row.name}`);
  b.addEventListener('click', () => csv(cards.get('campaigns'), `/v1/stats/campaigns/${encodeURIComponent(row.id)}`,
    {}, `perkd-campaign-${row.code || row.id}.csv`.replace(/[^A-Za-z0-9._-]/g, '_')));
  return b;
}

// ---- cards --------------------------------------------------------------

function overviewCsv(card) {
  return csv(card, '/v1/stats/overview', {}, csvName('overview'));
}

function makeCards() {
  const m = new Map();
  const add = (spec) => m.set(spec.id, new Card(ui.views, spec));
  add({ id: 'enrollment', title: 'Enrolment over time',
    intro: 'Members and the opt-in rate (members over population; click “Population” to draw it too), and sign-ups and departures per period.',
    onCsv: (c) => csv(c, '/v1/stats/enrollment', enrollmentParams(), csvName('enrollment')) });
  add({ id: 'districts', title: 'Opt-in rate per district',
    intro: 'Share of each district’s population that has enrolled.', onCsv: overviewCsv,
    csvLabel: 'Overview CSV' });
  add({ id: 'funnel', title: 'Funnel',
    intro: 'Of everyone who enrolled: how many went on to earn points, and to redeem a perk.',
    onCsv: overviewCsv, csvLabel: 'Overview CSV' });
  add({ id: 'perks', title: 'Redemptions per perk', onCsv: overviewCsv, csvLabel: 'Overview CSV' });
  add({ id: 'rules', title: 'Awards per rule', onCsv: overviewCsv, csvLabel: 'Overview CSV' });
  add({ id: 'channels', title: 'Enrolments per channel',
    intro: 'Which campaign code (poster, counter, banner) brought each sign-up.',
    onCsv: overviewCsv, csvLabel: 'Overview CSV' });
  add({ id: 'campaigns', title: 'Campaign progress',
    intro: 'Enrolments attributed to each campaign against its target; CSV per campaign in the table.',
    tableShown: true });
  return m;
}

// ---- loading ------------------------------------------------------------

async function loadEnrollment() {
  const page = pageGen;
  const mine = ++enrollGen;
  const current = () => page === pageGen && mine === enrollGen;
  const card = cards.get('enrollment');
  card.setState('loading');
  try {
    const data = await apiJson('/v1/stats/enrollment', enrollmentParams());
    if (!current()) return;
    if (data.min_group !== undefined) setMinGroup(data.min_group);
    renderEnrollment(card, data, scopeText());
  } catch (err) {
    if (current()) cardError(card, err);
  }
}

// Runs fn over items with at most `width` calls in flight.
async function inBatches(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

async function loadCampaigns(gen) {
  const card = cards.get('campaigns');
  card.setState('loading');
  try {
    const list = await apiList('/v1/admin/campaigns', MAX_CAMPAIGNS + 1);
    const shown = list.slice(0, MAX_CAMPAIGNS);
    const rows = await inBatches(shown, CAMPAIGN_FETCHES, async (campaign) => {
      try {
        return { campaign, stats: await apiJson(`/v1/stats/campaigns/${encodeURIComponent(campaign.id)}`) };
      } catch (err) {
        // A bad key or a dead database stops the whole page; any other
        // failure is shown on that campaign's row only.
        if (err instanceof ApiError && [0, 401, 403, 503].includes(err.status)) throw err;
        return { campaign, error: err.message };
      }
    });
    if (gen === pageGen) renderCampaigns(card, rows, campaignCsvButton, list.length > MAX_CAMPAIGNS);
  } catch (err) {
    if (gen === pageGen) cardError(card, err);
  }
}

const OVERVIEW_VIEWS = [
  ['districts', renderDistricts],
  ['funnel', renderFunnel],
  ['perks', renderPerks],
  ['rules', renderRules],
  ['channels', renderChannels],
];

async function loadOverview(gen) {
  for (const [id] of OVERVIEW_VIEWS) cards.get(id).setState('loading');
  let overview;
  try {
    overview = await apiJson('/v1/stats/overview');
  } catch (err) {
    if (gen !== pageGen) return false;
    if (handleFatal(err)) return false;
    for (const [id] of OVERVIEW_VIEWS) cards.get(id).setState('error', describe(err));
    return true;
  }
  if (gen !== pageGen) return false;
  setMinGroup(overview.min_group);
  fillDistricts(overview.districts || []);
  renderKpis(ui.kpis, overview);
  for (const [id, render] of OVERVIEW_VIEWS) {
    try {
      render(cards.get(id), overview);
    } catch (err) {
      cards.get(id).setState('error', describe(err));
    }
  }
  return true;
}

// The page is "ready" (body[data-state], for tests and the status line)
// once no card is loading and nothing stopped the page.
function settle(message) {
  if (ui.dashboard.hidden || !ui.notice.hidden) return;
  if ([...cards.values()].some((c) => c.root.dataset.state === 'loading')) return;
  document.body.dataset.state = 'ready';
  setStatus(message);
}

// Loads every view. The overview goes first: it checks the key, says how
// small a group is withheld and lists the districts for the filter.
async function loadAll() {
  const gen = ++pageGen;
  hideNotice();
  document.body.dataset.state = 'loading';
  setStatus('Loading statistics…');
  const ok = await loadOverview(gen);
  if (!ok || gen !== pageGen) return;
  await Promise.all([loadEnrollment(), loadCampaigns(gen)]);
  if (gen === pageGen) settle(`Statistics loaded at ${new Date().toLocaleTimeString('en-GB')}.`);
}

async function applyFilters() {
  const err = checkFilters();
  ui.filterError.textContent = err;
  if (err) return;
  const gen = pageGen;
  document.body.dataset.state = 'loading';
  setStatus('Loading enrolment…');
  await loadEnrollment();
  if (gen === pageGen) settle(`Enrolment shown for ${scopeText()}.`);
}

// ---- wiring -------------------------------------------------------------

function start() {
  showDashboard();
  if (!cards) cards = makeCards();
  loadAll();
}

ui.keyForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = ui.key.value.trim();
  const err = checkKey(key);
  if (err) {
    ui.keyError.textContent = err;
    ui.key.setAttribute('aria-invalid', 'true');
    return;
  }
  setKey(key);
  ui.key.value = '';
  start();
  // The focused form is gone: put keyboard and screen reader users at the
  // top of what replaced it.
  $('main').focus();
});

ui.forget.addEventListener('click', () => {
  pageGen += 1;
  forgetKey();
  hideNotice();
  showLogin();
});

ui.retry.addEventListener('click', () => loadAll());

ui.filters.addEventListener('submit', (ev) => {
  ev.preventDefault();
  applyFilters();
});

ui.filters.addEventListener('reset', () => {
  // After the browser has reset the fields: put back the default range.
  setTimeout(() => {
    setDefaultFilters();
    ui.filterError.textContent = '';
    applyFilters();
  });
});

setDefaultFilters();
ui.filterScope.textContent = 'Dates, district and period apply to “Enrolment over time”; '
  + 'the other views show the whole programme.';
$('chart-version').textContent = chartsAvailable()
  ? `Charts by Chart.js ${globalThis.Chart.version}.`
  : 'Chart.js is not installed here (run `npm run vendor`): the numbers are shown as tables.';

if (getKey()) start();
else showLogin();
