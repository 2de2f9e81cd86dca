/*
 * consent.js: the enrolment screen for a signed-in resident who has not
 * joined. It says in plain words what the programme is, that joining is
 * voluntary and never punitive, lists every public earning rule and every
 * issuer (each may be unticked: the `sources` of the enrolment), asks for
 * a district and an explicit, unticked-by-default consent, then enrols.
 * Choices survive a language switch (kept in `choice`).
 */
import { itemsOf, newIdempotencyKey, ApiError } from '../shared/api.js';
import { problemNote } from './dialogs.js';
import { t, fmtNumber, CONSENT_VERSION } from '../shared/i18n.js';
import { h, replace, announce } from '../shared/dom.js';

const choice = { district: '', unticked: new Set(), agreed: false };
let cache = null;   // {rules, issuers, districts}: each {ok, value|error}

async function loadPublic(api) {
  const [rules, issuers, districts] = await Promise.allSettled([
    api.get('/v1/rules'), api.get('/v1/issuers'), api.get('/v1/districts')]);
  const wrap = (r) => (r.status === 'fulfilled' ? { ok: true, value: itemsOf(r.value) } : { ok: false, error: r.reason });
  for (const r of [rules, issuers, districts]) {
    if (r.status === 'rejected' && api.isSignedOut(r.reason)) throw r.reason;
  }
  return { rules: wrap(rules), issuers: wrap(issuers), districts: wrap(districts) };
}

function rulesList(rules) {
  if (!rules.ok) return problemNote(rules.error);
  if (!rules.value.length) return h('p', { class: 'muted', text: t('consent.noRules') });
  return h('ul', { class: 'rules' }, rules.value.map((r) => h('li', { 'data-rule': r.code },
    h('div', { class: 'perk-head' },
      h('h4', { text: r.title }),
      h('span', { class: 'cost', text: t('consent.rulePoints', { n: fmtNumber(r.points) }) })),
    r.description ? h('p', { text: r.description }) : null,
    h('p', { class: 'muted small' },
      r.daily_cap ? t('consent.ruleCap', { n: fmtNumber(r.daily_cap) }) : t('consent.ruleNoCap'),
      r.issuers && r.issuers.length ? ` · ${t('consent.ruleBy', { issuers: r.issuers.join(', ') })}` : ''))));
}

function issuersField(issuers) {
  if (!issuers.ok) return problemNote(issuers.error);
  if (!issuers.value.length) return h('p', { class: 'muted', text: t('consent.noIssuers') });
  return h('fieldset', { class: 'checks' },
    h('legend', { text: t('consent.issuersLegend') }),
    h('p', { class: 'muted small', id: 'issuers-hint', text: t('consent.issuersHint') }),
    issuers.value.map((o) => {
      const id = `src-${o.id}`;
      return h('div', { class: 'check' },
        h('input', { type: 'checkbox', id, name: 'sources', value: o.id, checked: !choice.unticked.has(o.id),
          'aria-describedby': 'issuers-hint',
          onchange: (e) => { if (e.target.checked) choice.unticked.delete(o.id); else choice.unticked.add(o.id); } }),
        h('label', { for: id, text: o.name }));
    }));
}

function districtField(districts) {
  const id = 'district';
  if (!districts.ok) {
    // Without the list, the resident can still type the code the city gave.
    return h('div', { class: 'field' },
      h('label', { for: id, text: t('consent.district') }),
      problemNote(districts.error),
      h('input', { id, name: 'district', required: true, maxlength: 64, value: choice.district,
        oninput: (e) => { choice.district = e.target.value.trim(); } }));
  }
  const sel = h('select', { id, name: 'district', required: true,
    onchange: (e) => { choice.district = e.target.value; } },
  h('option', { value: '', text: t('consent.districtPick') }),
  districts.value.map((d) => h('option', { value: d.code, selected: d.code === choice.district, text: d.name || d.code })));
  return h('div', { class: 'field' },
    h('label', { for: id, text: t('consent.district') }),
    h('p', { class: 'muted small', id: 'district-hint', text: t('consent.districtHint') }),
    sel);
}

export async function renderConsent(main, ctx) {
  const { api } = ctx;
  document.title = `${t('consent.title')} · perkd`;
  if (!cache) {
    replace(main, h('p', { class: 'loading', text: t('common.loading') }));
    try {
      cache = await loadPublic(api);
    } catch (e) {
      if (api.isSignedOut(e)) return;
      throw e;
    }
  }
  const status = h('div', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { class: 'btn primary big', type: 'submit', text: t('consent.join') });
  const form = h('form', { class: 'card consent', novalidate: true, onsubmit: onSubmit },
    h('h2', { text: t('consent.yourChoice') }),
    issuersField(cache.issuers),
    districtField(cache.districts),
    h('div', { class: 'check agree' },
      h('input', { type: 'checkbox', id: 'agree', checked: choice.agreed, required: true,
        onchange: (e) => { choice.agreed = e.target.checked; } }),
      h('label', { for: 'agree', text: t('consent.agree') })),
    status,
    submit);

  async function onSubmit(ev) {
    ev.preventDefault();
    const district = choice.district;
    if (!district) {
      replace(status, h('p', { class: 'note error', text: t('consent.needDistrict') }));
      document.getElementById('district').focus();
      return;
    }
    if (!choice.agreed) {
      replace(status, h('p', { class: 'note error', text: t('consent.needAgree') }));
      document.getElementById('agree').focus();
      return;
    }
    const body = { consent: true, consent_version: CONSENT_VERSION, district };
    if (cache.issuers.ok) {
      // The resident agreed to exactly the issuers shown and ticked.
      body.sources = cache.issuers.value.map((o) => o.id).filter((id) => !choice.unticked.has(id));
    }
    const channel = api.channel();
    if (channel) body.channel = channel;
    submit.disabled = true;
    replace(status, h('p', { text: t('consent.joining') }));
    try {
      await api.post('/v1/me/enroll', body, newIdempotencyKey());
    } catch (e) {
      submit.disabled = false;
      if (api.isSignedOut(e)) return;
      if (e instanceof ApiError && e.code === 'already_enrolled') { ctx.restart(); return; }
      replace(status, problemNote(e));
      return;
    }
    announce(t('consent.joined'));
    cache = null;
    choice.unticked.clear();
    choice.agreed = false;
    ctx.restart();
  }

  replace(main,
    h('section', { class: 'card intro', 'aria-labelledby': 'consent-h' },
      h('h1', { id: 'consent-h', tabindex: '-1', text: t('consent.title') }),
      h('p', { class: 'lead', text: t('consent.what') }),
      h('ul', { class: 'promises' },
        h('li', {}, h('strong', { text: t('consent.voluntaryH') }), ' ', t('consent.voluntary')),
        h('li', {}, h('strong', { text: t('consent.neverPunitiveH') }), ' ', t('consent.neverPunitive')),
        h('li', {}, h('strong', { text: t('consent.privateH') }), ' ', t('consent.private')),
        h('li', {}, h('strong', { text: t('consent.leaveH') }), ' ', t('consent.leave')))),
    h('section', { class: 'card', 'aria-labelledby': 'rules-h' },
      h('h2', { id: 'rules-h', text: t('consent.rulesTitle') }),
      h('p', { class: 'muted small', text: t('consent.rulesIntro') }),
      rulesList(cache.rules)),
    form);
  document.getElementById('consent-h').focus();
}
