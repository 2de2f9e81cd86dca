/*
 * sources.js: "who may report your acts" on the home screen: the issuers
 * the member allows (PUT /v1/me/sources). It loads only when opened,
 * because the member's current choice is read from the export (GET
 * /v1/me has no sources field): `sources: null` there means every issuer.
 */
import { itemsOf } from '../shared/api.js';
import { problemNote } from './dialogs.js';
import { t } from '../shared/i18n.js';
import { h, replace, announce } from '../shared/dom.js';

export function sourcesEditor(api) {
  const body = h('div', { class: 'sources-body' }, h('p', { class: 'loading', text: t('common.loading') }));
  const details = h('details', { class: 'sources', id: 'sources' },
    h('summary', { text: t('sources.title') }), body);
  let loaded = false;

  async function load() {
    let issuers;
    let current;
    try {
      const [list, exp] = await Promise.all([api.get('/v1/issuers?limit=500'), api.get('/v1/me/export')]);
      issuers = itemsOf(list);
      current = exp && Array.isArray(exp.sources) ? new Set(exp.sources.map((o) => (typeof o === 'object' ? o.id : o))) : null;
    } catch (e) {
      if (api.isSignedOut(e)) return;
      replace(body, problemNote(e));
      loaded = false;
      return;
    }
    const status = h('p', { class: 'form-status', role: 'status' });
    const form = h('form', {
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        const ids = [...form.querySelectorAll('input[name="source"]:checked')].map((el) => el.value);
        try {
          await api.put('/v1/me/sources', { sources: ids });
        } catch (e) {
          if (api.isSignedOut(e)) return;
          replace(status, problemNote(e, 'span'));
          return;
        }
        replace(status, t('sources.saved'));
        announce(t('sources.saved'));
      },
    },
    h('fieldset', { class: 'checks' },
      h('legend', { class: 'visually-hidden', text: t('sources.title') }),
      h('p', { class: 'muted small', text: t('sources.hint') }),
      issuers.map((o) => h('div', { class: 'check' },
        h('input', { type: 'checkbox', id: `my-src-${o.id}`, name: 'source', value: o.id, checked: current === null || current.has(o.id) }),
        h('label', { for: `my-src-${o.id}`, text: o.name })))),
    h('button', { class: 'btn', type: 'submit', id: 'save-sources', text: t('sources.save') }),
    status);
    replace(body, form);
  }

  details.addEventListener('toggle', () => {
    if (details.open && !loaded) { loaded = true; load(); }
  });
  return details;
}
