// format.mjs: how the dashboard writes numbers. The one rule that matters:
// a value the API withheld for privacy (null) is written "withheld (< N)"
// and never as 0, in tables, key figures and chart labels alike.

const counts = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
// Three significant digits, kept when they are zeros (0.730 %, not 0.73 %)
// so that a column of rates lines up.
const percents = new Intl.NumberFormat('en-GB', {
  style: 'percent',
  minimumSignificantDigits: 3,
  maximumSignificantDigits: 3,
});

// Axis ticks: as short as they can be (0.1 %, not 0.100 %).
const tickPercents = new Intl.NumberFormat('en-GB', { style: 'percent', maximumSignificantDigits: 3 });

export function fmtRateTick(v) {
  return tickPercents.format(v);
}

function percent(v) {
  return v === 0 ? '0%' : percents.format(v);
}

// The minimum group size the API reports (overview.min_group); until the
// overview has answered it is unknown and the text says only "withheld".
let minGroup = null;

export function setMinGroup(n) {
  minGroup = Number.isInteger(n) && n > 0 ? n : null;
}

export function withheldText() {
  return minGroup === null ? 'withheld' : `withheld (< ${minGroup})`;
}

export function isWithheld(v) {
  return v === null;
}

// A count or an amount of points. undefined (the API did not send the
// field at all) is shown as a dash, which is not the same as withheld.
export function fmtCount(v) {
  if (v === null) return withheldText();
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return counts.format(v);
}

// A rate given as a fraction (0.123 = 12.3 %).
export function fmtRate(v) {
  if (v === null) return withheldText();
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return percent(v);
}

// A share a/b as a percentage, or '' when either side is unknown.
export function fmtShare(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || b <= 0) return '';
  return percent(a / b);
}
