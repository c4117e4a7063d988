// The operators' calendar section: which coming years have no decree on file.
import { describe, expect, it } from 'vitest';
import { calendarSection, missingYears, type CalendarOutlook } from '../src/pages/calendar';

const outlook = {
  years: [
    { year: 2026, decree: '10/2025. (IV. 30.) NGM rendelet' },
    { year: 2027, decree: null },
    { year: 2028, decree: null },
  ],
} as unknown as CalendarOutlook;

describe('calendar section', () => {
  it('names the years without a decree', () => {
    expect(missingYears(outlook)).toEqual([2027, 2028]);
    const s = calendarSection(outlook);
    expect(s.querySelector('[data-testid=calendar-missing]')?.textContent).toMatch(/^Nincs munkarend-rendelet: 2027, 2028\./);
    const rows = [...s.querySelectorAll('[data-testid=calendar-year]')].map((r) => [r.getAttribute('data-year'), r.getAttribute('data-decreed')]);
    expect(rows).toEqual([['2026', 'true'], ['2027', 'false'], ['2028', 'false']]);
    expect(s.getAttribute('aria-labelledby')).toBe('calendar-heading');
  });

  it('says so when every year is covered', () => {
    const all = { years: [{ year: 2026, decree: 'x' }] } as unknown as CalendarOutlook;
    const s = calendarSection(all);
    expect(s.querySelector('[data-testid=calendar-complete]')).not.toBeNull();
    expect(s.querySelector('[data-testid=calendar-missing]')).toBeNull();
  });
});
