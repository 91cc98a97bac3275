import { useRef, useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { PortalRequestTemplate } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { plural } from '../sync/format.ts';
import { ConfirmRemoval } from '../sync/integration-parts.tsx';
import { PortalNav, useReturnFocus } from './parts.tsx';
import { QUESTION_KIND_LABELS } from './request-parts.tsx';
import { TemplateForm } from './template-form.tsx';

type Editing = { mode: 'add' } | { mode: 'change'; template: PortalRequestTemplate } | { mode: 'copy'; template: PortalRequestTemplate } | null;

/** /portal/request-templates — the questions the practice sends: the built-in checklist and its own templates (portal.flows.send). */
export function PortalRequestTemplates() {
  usePageTitle('Request templates – Custos');
  const [templates, reload] = useApi<{ templates: PortalRequestTemplate[] }>('/api/v1/portal/request-templates');
  const [editing, setEditing] = useState<Editing>(null);
  const [done, setDone] = useState('');
  const [failure, setFailure] = useState('');
  const addButton = useReturnFocus(editing?.mode === 'add');
  const listHeading = useRef<HTMLHeadingElement>(null);
  const list = templates.state === 'loaded' ? templates.data.templates : undefined;

  const saved = (template: PortalRequestTemplate, message: string) => {
    const added = editing?.mode === 'add';
    setEditing(null);
    setFailure('');
    setDone(message.replace('%s', template.name));
    reload();
    // A form that was in a template's card is gone: focus goes to the list (after adding, back to the Add button).
    if (!added) window.setTimeout(() => listHeading.current?.focus(), 0);
  };

  return (
    <>
      <PortalNav />
      <p className="back-link">
        <Link href="/portal/requests">Information requests</Link>
      </p>
      <h1 id="page-title">Request templates</h1>
      <p className="narrow">
        The questions you send clients. The built-in year-end checklist is the same for every practice and cannot be changed: copy it to make your own version.
      </p>
      {editing?.mode !== 'add' && (
        <div className="button-row">
          <button
            ref={addButton}
            className="button"
            type="button"
            onClick={() => {
              setDone('');
              setEditing({ mode: 'add' });
            }}
          >
            Add a template
          </button>
        </div>
      )}
      {editing?.mode === 'add' && <TemplateForm onSaved={(t) => saved(t, '“%s” is added.')} onCancel={() => setEditing(null)} />}
      <div role="status" className="status-region">
        {done && <p className="notice notice--success">{done}</p>}
      </div>
      <div role="alert">{failure && <p className="notice notice--error">{failure}</p>}</div>

      <h2 id="templates-title" tabIndex={-1} ref={listHeading}>
        Templates{list ? ` (${list.length})` : ''}
      </h2>
      <LoadState value={templates} what="the templates" />
      {list && (
        <ul className="document-list">
          {list.map((template) => {
            const questions = template.sections.flatMap((s) => s.questions);
            const changing = editing && editing.mode !== 'add' && editing.template.id === template.id;
            return (
              <li key={template.id} className="document-card">
                <h3 className="document-card__title">
                  {template.name} {template.builtIn && <span className="tag tag--invited">Built in</span>}
                </h3>
                <p className="document-card__meta">
                  {plural(questions.length, 'question')} in {plural(template.sections.length, 'section')}, {questions.filter((q) => q.required).length} required.
                </p>
                <details className="template-questions">
                  <summary>
                    Show the questions<span className="visually-hidden"> of {template.name}</span>
                  </summary>
                  {template.sections.map((section, s) => (
                    <div key={s}>
                      <h4>{section.title}</h4>
                      <ol className="plain-list">
                        {section.questions.map((q) => (
                          <li key={q.id}>
                            {q.text} <span className="muted">({QUESTION_KIND_LABELS[q.kind].toLowerCase()}{q.required ? ', required' : ''})</span>
                          </li>
                        ))}
                      </ol>
                    </div>
                  ))}
                </details>
                {!changing && (
                  <div className="button-row document-card__actions">
                    {template.builtIn ? (
                      <button className="button button--small button--secondary" type="button" onClick={() => setEditing({ mode: 'copy', template })}>
                        Copy<span className="visually-hidden"> {template.name}</span> to change it
                      </button>
                    ) : (
                      <>
                        <button className="button button--small button--secondary" type="button" onClick={() => setEditing({ mode: 'change', template })}>
                          Change<span className="visually-hidden"> {template.name}</span>
                        </button>
                        <ConfirmRemoval
                          action="Delete"
                          what={`“${template.name}”`}
                          question={`Delete “${template.name}”? Requests already sent with it keep their questions.`}
                          onConfirm={async () => {
                            try {
                              await api.delete(`/api/v1/portal/request-templates/${encodeURIComponent(template.id)}`);
                              setDone(`“${template.name}” is deleted.`);
                              setFailure('');
                              reload();
                              listHeading.current?.focus();
                            } catch (error) {
                              setFailure(`Could not delete “${template.name}”. ${describeProblem(error)}`);
                            }
                          }}
                        />
                      </>
                    )}
                  </div>
                )}
                {changing && editing.mode === 'change' && <TemplateForm level={4} template={template} onSaved={(t) => saved(t, '“%s” is saved.')} onCancel={() => setEditing(null)} />}
                {changing && editing.mode === 'copy' && <TemplateForm level={4} copyOf={template} onSaved={(t) => saved(t, '“%s” is added.')} onCancel={() => setEditing(null)} />}
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
