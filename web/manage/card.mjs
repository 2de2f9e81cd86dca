// card.mjs: one dashboard view as a card: a heading, a CSV button, one or
// more charts and the data table behind them. The table is always in the
// page (visually hidden until "Show table") so that screen readers get the
// numbers the charts draw; each cell carries the raw value in data-value
// ("null" for withheld) so that tests can compare it with the API.

import { withheldText } from './format.mjs';

const Chart = globalThis.Chart; // from vendor/chart.umd.js, if installed

export function chartsAvailable() {
  return typeof Chart === 'function';
}

if (chartsAvailable()) {
  Chart.defaults.animation = false; // no motion; screenshots are stable
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.color = '#333';
}

// Okabe-Ito: told apart by most colour-blind readers.
export const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000'];

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export class Card {
  // parent: the element to append to; id: a short name (also data-view);
  // onCsv: called when the CSV button is pressed (omit for no button);
  // tableShown: show the table from the start (it holds buttons, and a
  // focusable button must never sit in visually hidden content).
  constructor(parent, { id, title, intro, onCsv, csvLabel = 'Download CSV', tableShown = false }) {
    this.id = id;
    this.root = el('article', {
      class: 'card',
      id: `view-${id}`,
      'data-view': id,
      'aria-labelledby': `view-${id}-h`,
    });
    const head = el('header');
    head.append(el('h3', { id: `view-${id}-h` }, title));
    if (onCsv) {
      this.csvButton = el('button', { type: 'button', class: 'csv' }, csvLabel);
      this.csvButton.setAttribute('aria-label', `${csvLabel}: ${title}`);
      this.csvButton.addEventListener('click', () => onCsv(this));
      head.append(this.csvButton);
    }
    this.root.append(head);
    if (intro) this.root.append(el('p', { class: 'intro' }, intro));
    this.message = el('p', { class: 'state-msg' });
    this.charts = el('div', { class: 'charts' });
    this.note = el('p', { class: 'note' });
    this.tableWrap = el('div', { class: 'table-wrap sr-only', id: `view-${id}-table` });
    this.toggle = el('button', {
      type: 'button',
      class: 'quiet toggle',
      'aria-pressed': 'false',
      'aria-controls': this.tableWrap.id,
    }, 'Show table');
    this.toggle.addEventListener('click', () => this.showTable(this.toggle.getAttribute('aria-pressed') !== 'true'));
    this.root.append(this.message, this.charts, this.note, this.toggle, this.tableWrap);
    parent.append(this.root);
    this.showTable(tableShown);
    this.setState('loading');
  }

  showTable(on) {
    this.toggle.setAttribute('aria-pressed', String(on));
    this.toggle.textContent = on ? 'Hide table' : 'Show table';
    this.tableWrap.classList.toggle('sr-only', !on);
  }

  // state: loading | ready | empty | error. text: what to tell the reader.
  setState(state, text = '') {
    this.root.dataset.state = state;
    this.root.setAttribute('aria-busy', String(state === 'loading'));
    const msg = text || (state === 'loading' ? 'Loading…' : '');
    this.message.textContent = msg;
    this.message.hidden = msg === '';
    this.message.className = `state-msg ${state}`;
    const hasData = state === 'ready';
    this.charts.hidden = !hasData;
    this.toggle.hidden = !hasData;
    this.tableWrap.hidden = !hasData;
    this.note.hidden = !hasData || this.note.textContent === '';
    if (this.csvButton) this.csvButton.disabled = state === 'loading';
  }

  clear() {
    for (const canvas of this.charts.querySelectorAll('canvas')) {
      if (chartsAvailable()) Chart.getChart(canvas)?.destroy();
    }
    this.charts.replaceChildren();
    this.tableWrap.replaceChildren();
    this.note.textContent = '';
  }

  // Draws a Chart.js chart named `name` (data-chart) with config. label is
  // the canvas' accessible name; height in CSS pixels.
  chart(name, label, config, height = 280) {
    const box = el('div', { class: 'chart', 'data-chart': name });
    box.style.height = `${height}px`;
    this.charts.append(box);
    if (!chartsAvailable()) {
      box.classList.add('missing');
      box.textContent = 'Chart unavailable: Chart.js is not installed on this server '
        + '(run `npm run vendor`). The table below has the same numbers.';
      this.showTable(true);
      return null;
    }
    const canvas = el('canvas', { role: 'img', 'aria-label': `${label}. The numbers are in the table below.` });
    box.append(canvas);
    return new Chart(canvas, config);
  }

  // columns: [{key, label, fmt(value,row) or render(value,row) -> Node,
  // head: true for the row header, numeric: true, nullIsNone: true (or a
  // function of the row) when null there means "not set" rather than
  // withheld}]; rows: plain objects,
  // rowKey names the field that identifies a row (data-row). The number of
  // withheld cells is written in the note under the charts.
  table(caption, columns, rows, rowKey) {
    const table = el('table');
    table.append(el('caption', {}, caption));
    const thead = el('thead');
    const hr = el('tr');
    for (const c of columns) hr.append(el('th', { scope: 'col', class: c.numeric ? 'num' : '' }, c.label));
    thead.append(hr);
    const tbody = el('tbody');
    let withheld = 0;
    for (const row of rows) {
      const tr = el('tr', { 'data-row': String(row[rowKey] ?? '') });
      for (const c of columns) {
        const v = row[c.key];
        const cell = c.head ? el('th', { scope: 'row' }) : el('td', { class: c.numeric ? 'num' : '' });
        cell.dataset.key = c.key;
        cell.dataset.value = v === null ? 'null' : String(v ?? '');
        if (c.render) cell.append(c.render(v, row));
        else cell.textContent = c.fmt ? c.fmt(v, row) : String(v ?? '');
        const none = typeof c.nullIsNone === 'function' ? c.nullIsNone(row) : c.nullIsNone;
        if (v === null && c.numeric && !none) {
          cell.classList.add('withheld');
          withheld += 1;
        }
        tr.append(cell);
      }
      tbody.append(tr);
    }
    table.append(thead, tbody);
    this.tableWrap.append(table);
    if (withheld > 0) {
      this.note.textContent = `${withheld} value${withheld === 1 ? ' is' : 's are'} ${withheldText()}: `
        + 'too few members to show without singling someone out. Charts leave them out; they are not zero.';
    }
    return table;
  }
}
