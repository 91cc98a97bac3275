import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { SyncConnection, SyncConnectionKind } from '../../api/sync.ts';
import { ErrorSummary, FieldErrors, type FieldNames, type FormProblem, messagesFor, problemsFrom, TextField } from '../../components/forms.tsx';

/** What each kind of connection is called, as the list and the form show it. */
export const CONNECTION_KIND_LABELS: Record<SyncConnectionKind, string> = {
  wonde: 'Wonde',
  'oneroster-rest': 'OneRoster REST API',
};

/** Each setting's label, per kind: the form's fields and the list's summary use the same words. */
export const SETTING_LABELS: Record<SyncConnectionKind, Record<string, string>> = {
  wonde: { baseUrl: 'Wonde API address', schoolId: 'Wonde school ID', token: 'Wonde API token' },
  'oneroster-rest': { baseUrl: 'API base URL', tokenUrl: 'Token URL', clientId: 'Client ID', clientSecret: 'Client secret', version: 'OneRoster version' },
};

const SETTING_IDS: Record<string, string> = {
  baseUrl: 'conn-base-url',
  tokenUrl: 'conn-token-url',
  clientId: 'conn-client-id',
  clientSecret: 'conn-client-secret',
  version: 'conn-version',
  token: 'conn-token',
  schoolId: 'conn-school-id',
};

/** The settings each kind needs (Wonde's address is optional: Wonde's own by default), and what to say when one is empty. */
const REQUIRED: Record<SyncConnectionKind, Record<string, string>> = {
  wonde: { schoolId: 'Enter the Wonde school ID', token: 'Enter the Wonde API token' },
  'oneroster-rest': {
    baseUrl: 'Enter the API base URL',
    tokenUrl: 'Enter the token URL',
    clientId: 'Enter the client ID',
    clientSecret: 'Enter the client secret',
  },
};

const KINDS: { value: SyncConnectionKind; label: string; hint: string }[] = [
  { value: 'wonde', label: 'Wonde', hint: 'Wonde reads your MIS (SIMS, Arbor, Bromcom and others) and Custos reads Wonde, with a token Wonde gives you.' },
  { value: 'oneroster-rest', label: 'OneRoster REST API', hint: 'An MIS or rostering service that offers OneRoster 1.1 or 1.2 over HTTPS, with a client ID and secret.' },
];

function fieldNames(kind: SyncConnectionKind): FieldNames {
  const names: FieldNames = {
    kind: { id: 'conn-kind-wonde', label: 'Kind of connection' },
    name: { id: 'conn-name', label: 'Name' },
    schedule: { id: 'conn-schedule-nightly', label: 'When it runs' },
  };
  for (const [setting, label] of Object.entries(SETTING_LABELS[kind])) names[`settings.${setting}`] = { id: SETTING_IDS[setting]!, label };
  return names;
}

type Settings = Record<string, string>;
const EMPTY: Settings = { baseUrl: '', tokenUrl: '', clientId: '', clientSecret: '', version: '1.1', token: '', schoolId: '' };

/** A new connection: the kind decides which settings are asked for; the secret is a password field. */
export function ConnectionForm({ onSaved, onCancel }: { onSaved: (connection: SyncConnection) => void; onCancel: () => void }) {
  const [kind, setKind] = useState<SyncConnectionKind>('wonde');
  const [name, setName] = useState('');
  const [nightly, setNightly] = useState(true);
  const [settings, setSettings] = useState<Settings>(EMPTY);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const fields = fieldNames(kind);
  const labels = SETTING_LABELS[kind];

  const set = (setting: string) => (event: { target: { value: string } }) => setSettings({ ...settings, [setting]: event.target.value });
  const errorsOf = (key: string) => messagesFor(problems, fields[key]!.id);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found: FormProblem[] = [];
    if (!name.trim()) found.push({ fieldId: fields.name!.id, message: 'Enter a name for the connection' });
    for (const [setting, message] of Object.entries(REQUIRED[kind])) {
      if (!settings[setting]!.trim()) found.push({ fieldId: SETTING_IDS[setting], message });
    }
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    const body: Settings = {};
    for (const setting of Object.keys(labels)) {
      const value = setting === 'clientSecret' || setting === 'token' ? settings[setting]! : settings[setting]!.trim();
      // Wonde's address is optional: left out, the server uses Wonde's own.
      if (kind === 'wonde' && setting === 'baseUrl' && value === '') continue;
      body[setting] = value;
    }
    setBusy(true);
    try {
      const created = await api.post<SyncConnection>('/api/v1/sync/connections', { kind, name: name.trim(), settings: body, schedule: nightly ? 'nightly' : null });
      setProblems([]);
      setSettings(EMPTY);
      setName('');
      onSaved(created);
    } catch (error) {
      // A name already in use is about the name: say so beside it.
      if (error instanceof ApiError && error.kind === 'conflict') setProblems([{ fieldId: fields.name!.id, message: 'A connection with this name already exists: choose another name' }]);
      else setProblems(problemsFrom(error, fields));
    } finally {
      setBusy(false);
    }
  }

  const kindErrors = errorsOf('kind');
  const scheduleErrors = errorsOf('schedule');
  const versionErrors = kind === 'oneroster-rest' ? errorsOf('settings.version') : [];
  const setting = (key: string, extra: { hint?: string; secret?: boolean; type?: string; required?: boolean } = {}) => (
    <TextField
      id={SETTING_IDS[key]!}
      label={extra.required === false ? `${labels[key]} (optional)` : labels[key]!}
      hint={extra.hint}
      type={extra.secret ? 'password' : (extra.type ?? 'text')}
      autoComplete={extra.secret ? 'new-password' : 'off'}
      spellCheck={false}
      value={settings[key]}
      onChange={set(key)}
      errors={errorsOf(`settings.${key}`)}
      required={extra.required !== false}
    />
  );

  return (
    <form id="connection-form" className="form panel" onSubmit={submit} noValidate aria-labelledby="new-connection-title">
      <h2 id="new-connection-title">Add a connection</h2>
      <p>Custos reads your MIS through it; it never writes to the MIS. The secret is stored encrypted and is never shown again, not even to you.</p>
      <ErrorSummary problems={problems} />
      <fieldset className={`fieldset${kindErrors.length ? ' field--error' : ''}`} aria-describedby={kindErrors.length ? 'conn-kind-error' : undefined}>
        <legend className="fieldset__legend">Kind of connection</legend>
        {kindErrors.length > 0 && <FieldErrors id="conn-kind-error" messages={kindErrors} />}
        <div className="radios">
          {KINDS.map((option) => (
            <div className="radio" key={option.value}>
              <input
                type="radio"
                id={`conn-kind-${option.value}`}
                name="kind"
                checked={kind === option.value}
                onChange={() => {
                  setKind(option.value);
                  setProblems([]);
                }}
                aria-describedby={`conn-kind-${option.value}-hint`}
              />
              <label htmlFor={`conn-kind-${option.value}`}>{option.label}</label>
              <p className="field__hint checkbox__hint" id={`conn-kind-${option.value}-hint`}>
                {option.hint}
              </p>
            </div>
          ))}
        </div>
      </fieldset>

      <TextField
        id="conn-name"
        label="Name"
        hint="How your school knows it, for example “Wonde (SIMS)”."
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        errors={errorsOf('name')}
        required
      />

      {kind === 'wonde' ? (
        <>
          {setting('schoolId', { hint: 'As Wonde shows it, for example A1930499544.' })}
          {setting('token', { secret: true, hint: 'From Wonde’s dashboard. Stored encrypted; never shown again.' })}
          {setting('baseUrl', { type: 'url', required: false, hint: 'Leave empty for Wonde’s own, https://api.wonde.com.' })}
        </>
      ) : (
        <>
          {setting('baseUrl', { type: 'url', hint: 'The address the OneRoster API is under, for example https://mis.example.com/ims/oneroster/v1p1.' })}
          {setting('tokenUrl', { type: 'url', hint: 'Where Custos asks for an access token (OAuth 2 client credentials).' })}
          {setting('clientId')}
          {setting('clientSecret', { secret: true, hint: 'Stored encrypted; never shown again.' })}
          <div className={`field${versionErrors.length ? ' field--error' : ''}`}>
            <label className="field__label" htmlFor="conn-version">
              OneRoster version
            </label>
            {versionErrors.length > 0 && <FieldErrors id="conn-version-error" messages={versionErrors} />}
            <select
              id="conn-version"
              className="select"
              value={settings.version}
              onChange={set('version')}
              aria-invalid={versionErrors.length ? true : undefined}
              aria-describedby={versionErrors.length ? 'conn-version-error' : undefined}
            >
              <option value="1.1">1.1</option>
              <option value="1.2">1.2</option>
            </select>
          </div>
        </>
      )}

      <fieldset className={`fieldset${scheduleErrors.length ? ' field--error' : ''}`} aria-describedby={scheduleErrors.length ? 'conn-schedule-error' : undefined}>
        <legend className="fieldset__legend">When it runs</legend>
        {scheduleErrors.length > 0 && <FieldErrors id="conn-schedule-error" messages={scheduleErrors} />}
        <div className="radios">
          <div className="radio">
            <input type="radio" id="conn-schedule-nightly" name="schedule" checked={nightly} onChange={() => setNightly(true)} />
            <label htmlFor="conn-schedule-nightly">Every night at 02:00 (UK time), and whenever someone presses Sync now</label>
          </div>
          <div className="radio">
            <input type="radio" id="conn-schedule-manual" name="schedule" checked={!nightly} onChange={() => setNightly(false)} />
            <label htmlFor="conn-schedule-manual">Only when someone presses Sync now</label>
          </div>
        </div>
      </fieldset>

      <div className="button-row">
        <button className="button" type="submit" disabled={busy}>
          Save the connection
        </button>
        <button className="button button--secondary" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

