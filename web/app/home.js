/*
 * home.js: the enrolled resident's home screen: balance, tier and its
 * progress, stars and flags, vouchers, the catalogue (what can be had now
 * first), recent ledger entries with their reasons, the access log, and
 * the resident's own data (export, leave). Each part loads on its own, so
 * one failing call leaves the rest of the screen usable.
 */
import { itemsOf, newIdempotencyKey } from '../shared/api.js';
import { t, fmtNumber, fmtDate, fmtDateTime } from '../shared/i18n.js';
import { h, replace, announce, modal, starsAndFlags } from '../shared/dom.js';
import { showVoucher, showPass, showProblem, problemNote } from './dialogs.js';
import { sourcesEditor } from './sources.js';

const LEDGER_SHOWN = 20;
const ACCESS_SHOWN = 20;

/* Loads everything the home screen shows. Each value is {ok, value} or
 * {ok: false, error}. */
async function load(api) {
  const calls = {
    me: api.get('/v1/me'),
    tiers: api.get('/v1/tiers'),
    rules: api.get('/v1/rules'),
    perks: api.get('/v1/perks?limit=500'),
    ledger: api.get(`/v1/me/ledger?limit=${LEDGER_SHOWN}`),
    redemptions: api.get('/v1/me/redemptions?limit=100'),
    access: api.get(`/v1/me/access-log?limit=${ACCESS_SHOWN}`),
  };
  const keys = Object.keys(calls);
  const settled = await Promise.allSettled(Object.values(calls));
  const data = {};
  settled.forEach((r, i) => {
    data[keys[i]] = r.status === 'fulfilled' ? { ok: true, value: r.value } : { ok: false, error: r.reason };
  });
  for (const r of settled) {
    if (r.status === 'rejected' && api.isSignedOut(r.reason)) throw r.reason;
  }
  return data;
}

function section(id, titleKey, ...content) {
  return h('section', { id, class: 'card', 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h`, tabindex: '-1', text: t(titleKey) }), ...content);
}

/* The ladder position of a tier name, -1 if unknown. */
function tierIndex(tiers, name) {
  return tiers.findIndex((x) => x.name === name);
}

function summary(me, tiersBody) {
  const tier = me.tier || {};
  const ladder = tiersBody && Array.isArray(tiersBody.tiers) ? tiersBody.tiers : [];
  const perFlag = tiersBody && tiersBody.stars_per_flag ? tiersBody.stars_per_flag : 6;
  const starPoints = tiersBody && tiersBody.star_points ? tiersBody.star_points : 100;
  const lifetime = me.lifetime_points || 0;
  const parts = [
    h('h1', { id: 'summary-h', text: t('home.title') }),
    h('p', { class: 'balance' },
      h('span', { class: 'num', 'data-testid': 'balance', text: fmtNumber(me.balance || 0) }), ' ',
      h('span', { class: 'unit', text: t('common.pointsUnit', { n: me.balance || 0 }) })),
    h('p', { class: 'tier' }, t('home.tier'), ' ', h('strong', { 'data-testid': 'tier', text: tier.name || '' })),
  ];
  if (tier.next_tier) {
    const cur = ladder[tierIndex(ladder, tier.name)];
    const next = ladder[tierIndex(ladder, tier.next_tier)];
    let max = tier.points_to_next + lifetime;
    let value = lifetime;
    if (cur && next) { max = next.min_lifetime_points - cur.min_lifetime_points; value = lifetime - cur.min_lifetime_points; }
    max = Math.max(1, max);
    value = Math.min(max, Math.max(0, value));
    const label = t('home.toNext', { n: fmtNumber(tier.points_to_next), tier: tier.next_tier });
    parts.push(h('progress', { class: 'tierbar', max, value, 'aria-label': label }),
      h('p', { class: 'muted small', text: label }));
  } else {
    parts.push(h('p', { class: 'muted small', text: t('home.topTier') }));
  }
  parts.push(starsAndFlags(tier.stars || 0, tier.flags || 0, perFlag),
    h('p', { class: 'muted small', text: t('home.starRule', { lifetime: fmtNumber(lifetime), star: starPoints, per: perFlag }) }));
  return h('section', { id: 'summary', class: 'card summary', 'aria-labelledby': 'summary-h' }, ...parts);
}

/* What the member can do with a perk now: rank 0 (can have it now) to 3. */
function perkState(perk, me, ladder) {
  const now = Date.now();
  const tierOk = !perk.min_tier || !ladder.length
    || tierIndex(ladder, me.tier && me.tier.name) >= tierIndex(ladder, perk.min_tier);
  const inWindow = (!perk.valid_from || Date.parse(perk.valid_from) <= now)
    && (!perk.valid_to || Date.parse(perk.valid_to) > now);
  const inStock = perk.stock_left === null || perk.stock_left === undefined || perk.stock_left > 0;
  if (!inWindow) return { rank: 3, why: t('perks.notActive') };
  if (!tierOk) return { rank: 2, why: t('perks.needTier', { tier: perk.min_tier }) };
  if (perk.kind === 'status') return { rank: 0 };
  if (!inStock) return { rank: 3, why: t('perks.outOfStock') };
  const short = (perk.cost_points || 0) - (me.balance || 0);
  if (short > 0) return { rank: 1, why: t('perks.needPoints', { n: fmtNumber(short) }) };
  return { rank: 0 };
}

export function renderHome(main, me, ctx) {
  const { api } = ctx;
  let data = null;

  async function refresh(focusId) {
    try {
      data = await load(api);
    } catch (e) {
      if (api.isSignedOut(e)) return;
      throw e;
    }
    if (!data.me.ok) {
      const err = data.me.error;
      if (err && err.code === 'not_enrolled') { ctx.restart(); return; }
    } else {
      me = data.me.value;
    }
    draw();
    if (focusId) {
      const el = document.getElementById(focusId);
      if (el) el.focus();
    }
  }

  function perkTitle(id) {
    const p = data && data.perks.ok ? itemsOf(data.perks.value).find((x) => x.id === id) : null;
    return p ? p.title : id;
  }

  function ruleTitle(code) {
    const r = data && data.rules.ok ? itemsOf(data.rules.value).find((x) => x.code === code) : null;
    return r ? r.title : code;
  }

  function vouchers() {
    if (!data.redemptions.ok) return section('vouchers', 'vouchers.title', problemNote(data.redemptions.error));
    const order = { issued: 0, used: 1, expired: 2, cancelled: 3 };
    const list = itemsOf(data.redemptions.value).slice()
      .sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9));
    if (!list.length) return section('vouchers', 'vouchers.title', h('p', { class: 'muted', text: t('vouchers.none') }));
    const ul = h('ul', { class: 'list' });
    for (const r of list) {
      const when = r.status === 'used' && r.used_at ? t('vouchers.usedAt', { at: fmtDateTime(r.used_at) })
        : r.status === 'issued' ? t('vouchers.validUntil', { at: fmtDate(r.expires_at) }) : '';
      ul.append(h('li', { class: `row voucher ${r.status}`, 'data-redemption-id': r.id, 'data-status': r.status },
        h('div', { class: 'grow' },
          h('div', { class: 'title', text: perkTitle(r.perk_id) }),
          h('div', { class: 'muted small' },
            h('span', { class: `badge ${r.status}`, text: t(`status.${r.status}`) }), ' ', when)),
        r.status === 'issued' ? h('button', {
          class: 'btn small', type: 'button',
          'aria-label': t('vouchers.showFor', { perk: perkTitle(r.perk_id) }),
          text: t('vouchers.show'),
          onclick: () => openVoucher(r),
        }) : null));
    }
    return section('vouchers', 'vouchers.title', ul);
  }

  async function openVoucher(r) {
    const outcome = await showVoucher(api, r, perkTitle(r.perk_id));
    if (outcome === 'cancelled') {
      announce(t('vouchers.cancelledNotice', { n: r.points || 0 }));
      await refresh('vouchers-h');
    }
  }

  function perks() {
    if (!data.perks.ok) return section('perks', 'perks.title', problemNote(data.perks.error));
    const ladder = data.tiers.ok && Array.isArray(data.tiers.value.tiers) ? data.tiers.value.tiers : [];
    const list = itemsOf(data.perks.value).map((p) => ({ p, s: perkState(p, me, ladder) }))
      .sort((a, b) => a.s.rank - b.s.rank || (a.p.cost_points || 0) - (b.p.cost_points || 0));
    if (!list.length) return section('perks', 'perks.title', h('p', { class: 'muted', text: t('perks.none') }));
    const ul = h('ul', { class: 'perks' });
    for (const { p, s } of list) {
      const isStatus = p.kind === 'status';
      const cost = isStatus ? t('perks.statusPerk') : t('perks.cost', { n: fmtNumber(p.cost_points || 0) });
      const facts = [p.partner ? t('perks.from', { partner: p.partner }) : null,
        p.stock_left !== null && p.stock_left !== undefined ? t('perks.left', { n: fmtNumber(p.stock_left) }) : null,
        p.min_tier ? t('perks.minTier', { tier: p.min_tier }) : null].filter(Boolean).join(' · ');
      const action = s.rank === 0
        ? h('button', {
          class: 'btn primary', type: 'button',
          'aria-label': `${isStatus ? t('perks.showPass') : t('perks.redeem')}: ${p.title}`,
          text: isStatus ? t('perks.showPass') : t('perks.redeem'),
          onclick: () => (isStatus ? openPass(p) : redeem(p)),
        })
        : h('p', { class: 'why', text: s.why });
      ul.append(h('li', { class: `perk ${s.rank === 0 ? 'now' : 'later'}`, 'data-perk-id': p.id, 'data-kind': p.kind },
        h('div', { class: 'perk-head' },
          h('h3', { text: p.title }),
          h('span', { class: 'cost', text: cost })),
        p.description ? h('p', { text: p.description }) : null,
        facts ? h('p', { class: 'muted small', text: facts }) : null,
        action));
    }
    return section('perks', 'perks.title', h('p', { class: 'muted small', text: t('perks.intro') }), ul);
  }

  async function redeem(p) {
    const key = newIdempotencyKey();   // one per confirmation: a double tap redeems once
    const after = (me.balance || 0) - (p.cost_points || 0);
    const answer = await modal({
      title: t('redeem.title'),
      body: [
        h('p', { class: 'lead', text: t('redeem.question', { perk: p.title, n: fmtNumber(p.cost_points || 0) }) }),
        h('p', { text: t('redeem.after', { n: fmtNumber(after) }) }),
        h('p', { class: 'muted small', text: t('redeem.cancelLater') }),
      ],
      buttons: [
        { label: t('common.notNow'), value: 'close', kind: 'ghost' },
        { label: t('redeem.confirm'), value: 'redeem', kind: 'primary' },
      ],
    });
    if (answer !== 'redeem') return;
    let red;
    try {
      red = await api.post('/v1/me/redemptions', { perk_id: p.id }, key);
    } catch (e) {
      if (api.isSignedOut(e)) return;
      await showProblem(e);
      return;
    }
    announce(t('redeem.done', { perk: p.title }));
    await refresh();
    const outcome = await showVoucher(api, red, p.title);
    if (outcome === 'cancelled') announce(t('vouchers.cancelledNotice', { n: red.points || 0 }));
    await refresh('vouchers-h');
  }

  async function openPass(p) {
    await showPass(api, p);
    const el = document.querySelector(`[data-perk-id="${CSS.escape(p.id)}"] button`);
    if (el) el.focus();
  }

  /* A section listing a paged API list: state is data.ledger or
   * data.access ({ok, value: {items, next_cursor}}); "show more" fetches
   * the next page of path and appends it. */
  function pagedSection({ id, titleKey, intro, noneKey, state, path, row }) {
    const head = intro ? h('p', { class: 'muted small', text: t(intro) }) : null;
    if (!state.ok) return section(id, titleKey, head, problemNote(state.error));
    const list = itemsOf(state.value);
    if (!list.length) return section(id, titleKey, head, h('p', { class: 'muted', text: t(noneKey) }));
    const ul = h('ul', { class: 'list' }, list.map(row));
    const cursor = state.value && state.value.next_cursor;
    const more = cursor ? h('button', { class: 'btn small', type: 'button', id: `${id}-more`, text: t('common.more'),
      onclick: async () => {
        more.disabled = true;
        let page;
        try {
          page = await api.get(`${path}&cursor=${encodeURIComponent(cursor)}`);
        } catch (e) {
          more.disabled = false;
          if (!api.isSignedOut(e)) await showProblem(e);
          return;
        }
        state.value = { items: [...list, ...itemsOf(page)], next_cursor: page.next_cursor || null };
        const fresh = pagedSection({ id, titleKey, intro, noneKey, state, path, row });
        document.getElementById(id).replaceWith(fresh);
        // Keyboard and screen reader users continue at the first new entry.
        const first = fresh.querySelectorAll('li')[list.length];
        if (first) { first.tabIndex = -1; first.focus(); }
      } }) : null;
    return section(id, titleKey, head, ul, more);
  }

  function ledgerRow(e) {
    const reason = e.kind === 'award' ? t('activity.award', { rule: ruleTitle(e.rule) })
      : e.kind === 'redemption' ? t('activity.redemption', { perk: perkTitle(e.perk) })
        : e.kind === 'refund' ? t('activity.refund', { perk: perkTitle(e.perk) })
          : e.kind === 'closure' ? t('activity.closure') : e.kind;
    const pts = e.points > 0 ? `+${fmtNumber(e.points)}` : fmtNumber(e.points);
    return h('li', { class: `row ledger ${e.kind}`, 'data-kind': e.kind },
      h('div', { class: 'grow' },
        h('div', { class: 'title', text: reason }),
        h('div', { class: 'muted small' }, h('time', { datetime: e.at, text: fmtDateTime(e.at) }),
          ' · ', t('activity.balanceAfter', { n: fmtNumber(e.balance_after) }))),
      h('div', { class: `points ${e.points > 0 ? 'plus' : 'minus'}`, 'aria-label': t('activity.pointsAria', { n: pts }), text: pts }));
  }

  function orgName(e) {
    const o = e.org_name ?? e.org ?? e.organisation;
    if (o && typeof o === 'object') return o.name || o.id || '';
    return o || '';
  }

  function accessRow(e) {
    const action = e.action || '';
    return h('li', { class: 'row access', 'data-action': action },
      h('div', { class: 'grow' },
        h('div', { class: 'title', text: t(`access.${action}`, { org: orgName(e) }, t('access.other', { org: orgName(e), action })) }),
        h('div', { class: 'muted small' }, h('time', { datetime: e.at, text: fmtDateTime(e.at) }))));
  }

  function activity() {
    return pagedSection({ id: 'activity', titleKey: 'activity.title', noneKey: 'activity.none',
      state: data.ledger, path: `/v1/me/ledger?limit=${LEDGER_SHOWN}`, row: ledgerRow });
  }

  function access() {
    return pagedSection({ id: 'access', titleKey: 'access.title', intro: 'access.intro', noneKey: 'access.none',
      state: data.access, path: `/v1/me/access-log?limit=${ACCESS_SHOWN}`, row: accessRow });
  }

  function mydata() {
    return section('mydata', 'data.title',
      sourcesEditor(api),
      h('div', { class: 'block' },
        h('p', { text: t('data.exportIntro') }),
        h('button', { class: 'btn', type: 'button', id: 'export', text: t('data.export'), onclick: exportData })),
      h('div', { class: 'block' },
        h('p', { text: t('data.leaveIntro') }),
        h('button', { class: 'btn danger', type: 'button', id: 'leave', text: t('data.leave'), onclick: leave })));
  }

  async function exportData() {
    try {
      const blob = await api.blob('/v1/me/export', 'application/json');
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `perkd-export-${new Date().toISOString().slice(0, 10)}.json`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      announce(t('data.exported'));
    } catch (e) {
      if (!api.isSignedOut(e)) await showProblem(e);
    }
  }

  async function leave() {
    const answer = await modal({
      title: t('leave.title'),
      body: [
        h('p', { class: 'lead', text: t('leave.intro') }),
        h('ul', {},
          h('li', { text: t('leave.balance', { n: fmtNumber(me.balance || 0) }) }),
          h('li', { text: t('leave.vouchers') }),
          h('li', { text: t('leave.erased') }),
          h('li', { text: t('leave.stats') }),
          h('li', { text: t('leave.again') })),
        h('p', { class: 'muted small', text: t('leave.exportFirst') }),
      ],
      buttons: [
        { label: t('leave.stay'), value: 'close', kind: 'ghost' },
        { label: t('leave.confirm'), value: 'leave', kind: 'danger' },
      ],
    });
    if (answer !== 'leave') return;
    try {
      await api.del('/v1/me');
    } catch (e) {
      if (!api.isSignedOut(e)) await showProblem(e);
      return;
    }
    replace(main, h('section', { class: 'card left', 'aria-labelledby': 'left-h' },
      h('h1', { id: 'left-h', tabindex: '-1', text: t('left.title') }),
      h('p', { class: 'lead', text: t('left.body') }),
      h('button', { class: 'btn', type: 'button', text: t('left.again'), onclick: () => ctx.restart() })));
    document.getElementById('left-h').focus();
    announce(t('left.title'));
  }

  function draw() {
    document.title = `${t('home.title')} · perkd`;
    replace(main,
      summary(me, data && data.tiers.ok ? data.tiers.value : null),
      h('div', { class: 'toolbar' },
        h('button', { class: 'btn small ghost', type: 'button', id: 'refresh', text: t('common.refresh'),
          onclick: async () => { await refresh(); announce(t('common.updated')); } })),
      data ? [vouchers(), perks(), activity(), access(), mydata()] : h('p', { class: 'loading', text: t('common.loading') }));
  }

  draw();
  refresh();
}
