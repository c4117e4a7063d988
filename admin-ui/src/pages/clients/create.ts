// A new natural person: the identity, e-mail, permanent address and resident card; checked
// locally first, then `POST clients`; the new client becomes the only result.
import { ApiError, type ClientRecord, type NewClient } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import type { FieldControl } from '../../errors';
import { dateText, fullName } from '../../ui/format';
import type { FieldProblem } from '../../ui/validate';
import { busy } from '../../ui/widgets';
import type { ClientResults } from './results';
import { field, input, type ClientsPage } from './shared';
import { hasAddress, newClientProblems } from './validate';

export function newClientForm(page: ClientsPage, results: ClientResults): HTMLFormElement {
  const family = input('new-family', 'family_name', { required: true });
  const given = input('new-given', 'given_name', { required: true });
  const birthName = input('new-birth-name', 'birth_name', { 'aria-describedby': 'new-birth-name-hint' });
  const mother = input('new-mother', 'mother_birth_name', { required: true, 'aria-describedby': 'new-mother-hint' });
  const birthPlace = input('new-birth-place', 'birth_place', { required: true, 'aria-describedby': 'new-birth-place-hint' });
  const birthDate = input('new-birth-date', 'birth_date', { type: 'date', required: true });
  const email = input('new-email', 'email', { type: 'email', spellcheck: 'false', autocapitalize: 'none' });
  const postcode = input('new-postcode', 'postcode', { inputmode: 'numeric', maxlength: '4', pattern: '[0-9]{4}', class: 'short' });
  const city = input('new-city', 'city');
  const street = input('new-street', 'street', { 'aria-describedby': 'new-street-hint' });
  const residentCard = input('new-resident-card', 'resident_card', { 'aria-describedby': 'new-resident-card-hint' });
  const newFields: Record<string, FieldControl> = {
    'identity.family_name': family,
    'identity.given_name': given,
    'identity.birth_name': birthName,
    'identity.mother_birth_name': mother,
    'identity.birth_place': birthPlace,
    'identity.birth_date': birthDate,
    email,
    'address.postcode': postcode,
    'address.city': city,
    'address.street': street,
    resident_card: residentCard,
  };
  const createSubmit = h('button', { type: 'submit', 'data-testid': 'new-client-submit' }, 'Ügyfél felvétele');
  const newForm = h('form', { novalidate: true, 'data-testid': 'new-client-form', 'aria-labelledby': 'new-client-heading' },
    field(family, 'Családi név'),
    field(given, 'Utónév'),
    field(birthName, 'Születési név (nem kötelező)', 'Csak ha eltér a jelenlegi névtől; teljes név, a családi névvel kezdve.'),
    field(mother, 'Anyja születési neve', 'Teljes név, például Kovács Ilona.'),
    field(birthPlace, 'Születési hely', 'Település; külföldön születetteknél az ország.'),
    field(birthDate, 'Születési idő'),
    field(email, 'E-mail-cím (nem kötelező)'),
    h('fieldset', {},
      h('legend', {}, 'Állandó lakcím (nem kötelező)'),
      field(postcode, 'Irányítószám'),
      field(city, 'Település'),
      field(street, 'Közterület és házszám', 'Például Böszörményi út 23-25. 2. em. 4.')),
    field(residentCard, 'Lakossági kártya száma (nem kötelező)', 'Egy kártyaszám csak egy ügyfélhez tartozhat.'),
    createSubmit);

  newForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    page.errors.clear();
    results.status.classList.remove('ok');
    replaceChildren(results.status);
    const problems: FieldProblem[] = [];
    const reason = page.reasonFor(problems);
    const v = (i: HTMLInputElement) => i.value.trim();
    const address = { postcode: v(postcode), city: v(city), street: v(street) };
    problems.push(...newClientProblems({
      family_name: v(family), given_name: v(given), mother_birth_name: v(mother), birth_place: v(birthPlace),
      birth_date: birthDate.value, ...address,
    }));
    if (problems.length) return page.refuse(problems, newFields);
    const body: NewClient = {
      identity: {
        family_name: v(family),
        given_name: v(given),
        birth_name: v(birthName) || null,
        mother_birth_name: v(mother),
        birth_place: v(birthPlace),
        birth_date: birthDate.value,
      },
      email: v(email) || null,
      addresses: hasAddress(address) ? [{ kind: 'permanent', ...address }] : [],
      resident_card: v(residentCard) || null,
    };
    void busy(createSubmit, async () => {
      let created: ClientRecord;
      try {
        created = await page.ctx.api.createClient(body, reason);
      } catch (e) {
        // The server names the address as a whole: show it on the part that is wrong.
        const addressPart = e instanceof ApiError && e.problem.errors?.some((fe) => fe.field === 'addresses' && fe.code === 'invalid_postcode')
          ? postcode : v(city) ? street : city;
        return page.failed(e, { ...newFields, addresses: addressPart });
      }
      newForm.reset();
      results.status.classList.add('ok');
      replaceChildren(results.status, `Új ügyfél felvéve: ${fullName(created)}, született ${dateText(created.identity.birth_date)}.`);
      results.show([created], 'Az újonnan felvett ügyfél.');
      results.status.focus();
    });
  });
  return newForm;
}
