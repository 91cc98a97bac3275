import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import type { OrganisationSettings, PasswordMode } from '../../api/types.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, problemsFrom, StatusMessage, type FormProblem } from '../../components/forms.tsx';
import { LoadState } from '../../components/loading.tsx';
import { useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';

const MODES: { value: PasswordMode; label: string; hint: string }[] = [
  {
    value: 'composition',
    label: 'At least 8 characters with upper case, lower case, a digit and a symbol',
    hint: 'The usual rule in school and council security policies.',
  },
  {
    value: 'nist',
    label: 'At least 12 characters, no other rules (NIST guidance)',
    hint: 'Longer passphrases of ordinary words; recommended by NIST SP 800-63B and the NCSC.',
  },
];

/** /settings — organisation-wide sign-in rules (settings.manage). */
export function Settings() {
  usePageTitle('Organisation settings – Custos');
  const session = useSignedIn();
  const [loaded] = useApi<OrganisationSettings>('/api/v1/organisation/settings');
  const [settings, setSettings] = useState<OrganisationSettings | null>(null);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (loaded.state === 'loaded') setSettings(loaded.data);
  }, [loaded]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!settings) return;
    setBusy(true);
    setSaved('');
    try {
      const result = await api.put<OrganisationSettings>('/api/v1/organisation/settings', settings);
      setSettings(result ?? settings);
      setProblems([]);
      setSaved('Settings saved.');
    } catch (error) {
      setProblems(
        problemsFrom(error, {
          requireMfa: { id: 'require-mfa', label: 'Require two-step verification' },
          passwordMode: { id: 'mode-composition', label: 'Password rules' },
        }),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Organisation settings</h1>
      <p>These apply to everyone in {session.organisation.name}.</p>
      <StatusMessage>{saved}</StatusMessage>
      {!settings && <LoadState value={loaded} what="the settings" />}
      {settings && (
        <form className="form" onSubmit={submit} noValidate>
          <ErrorSummary problems={problems} />
          <fieldset className="fieldset">
            <legend className="fieldset__legend">Two-step verification</legend>
            <div className="checkbox">
              <input
                type="checkbox"
                id="require-mfa"
                checked={settings.requireMfa}
                onChange={(event) => setSettings({ ...settings, requireMfa: event.target.checked })}
                aria-describedby="require-mfa-hint"
              />
              <label htmlFor="require-mfa">Require everyone to use an authenticator app when they sign in</label>
            </div>
            <p className="field__hint" id="require-mfa-hint">
              People who have not set it up yet will be asked to at their next sign-in.
            </p>
          </fieldset>
          <fieldset className="fieldset">
            <legend className="fieldset__legend">Password rules</legend>
            <p className="field__hint">New passwords must follow these. Existing passwords keep working.</p>
            <div className="radios">
              {MODES.map((mode) => (
                <div className="radio" key={mode.value}>
                  <input
                    type="radio"
                    id={`mode-${mode.value}`}
                    name="passwordMode"
                    value={mode.value}
                    checked={settings.passwordMode === mode.value}
                    onChange={() => setSettings({ ...settings, passwordMode: mode.value })}
                    aria-describedby={`mode-${mode.value}-hint`}
                  />
                  <label htmlFor={`mode-${mode.value}`}>{mode.label}</label>
                  <p className="field__hint radio__hint" id={`mode-${mode.value}-hint`}>
                    {mode.hint}
                  </p>
                </div>
              ))}
            </div>
          </fieldset>
          <button className="button" type="submit" disabled={busy}>
            Save settings
          </button>
        </form>
      )}
    </section>
  );
}
