import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError } from '../../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actorLabel } from '../clients.ts';
import { requirePractice } from '../practice.ts';
import { BUILT_IN_TEMPLATES, builtInTemplate } from './built-in-templates.ts';
import { questionnaireSchema, type Questionnaire } from './questions.ts';

/**
 * Request templates: the built-in ones every practice is offered, and the practice's own (stored,
 * changed and deleted by staff who send requests). Templates hold questions, never answers, so
 * they are kept in clear.
 */
export interface RequestTemplate {
  id: string;
  name: string;
  builtIn: boolean;
  sections: Questionnaire;
  createdBy: string | null;
  createdAt: string | null;
}

export const templateSchema = z.strictObject({
  name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  sections: questionnaireSchema,
});
export type TemplateInput = z.input<typeof templateSchema>;

type TemplateRow = { id: string; name: string; questions: unknown; created_by: string; created_at: Date };
const COLUMNS = ['id', 'name', 'questions', 'created_by', 'created_at'] as const;

function fromRow(row: TemplateRow): RequestTemplate {
  return {
    id: row.id,
    name: row.name,
    builtIn: false,
    sections: (typeof row.questions === 'string' ? JSON.parse(row.questions) : row.questions) as Questionnaire,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const builtIns = (): RequestTemplate[] => BUILT_IN_TEMPLATES.map((t) => ({ id: t.id, name: t.name, builtIn: true, sections: t.sections, createdBy: null, createdAt: null }));

function nameTaken(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

function refuseBuiltInName(name: string): void {
  if (BUILT_IN_TEMPLATES.some((t) => t.name.toLowerCase() === name.toLowerCase())) throw new ConflictError('a built-in template already has this name; choose another');
}

/** The built-in templates, then the practice's own by name. */
export async function listTemplates(scope: TenantScope): Promise<RequestTemplate[]> {
  await requirePractice(scope);
  const rows = await scope.trx.selectFrom('portal_request_templates').select(COLUMNS).orderBy('name').orderBy('id').limit(500).execute();
  return [...builtIns(), ...rows.map((r) => fromRow(r as TemplateRow))];
}

export async function getTemplate(scope: TenantScope, templateId: string): Promise<RequestTemplate> {
  const builtIn = builtInTemplate(templateId);
  if (builtIn) {
    await requirePractice(scope);
    return builtIns().find((t) => t.id === builtIn.id)!;
  }
  if (!isUuid(templateId)) throw new NotFoundError('template');
  const row = await scope.trx.selectFrom('portal_request_templates').select(COLUMNS).where('id', '=', templateId).executeTakeFirst();
  if (!row) throw new NotFoundError('template');
  return fromRow(row as TemplateRow);
}

export async function createTemplate(scope: TenantScope, input: TemplateInput): Promise<RequestTemplate> {
  const data = parseOrThrow(templateSchema, input);
  await requirePractice(scope);
  refuseBuiltInName(data.name);
  let row: TemplateRow;
  try {
    row = (await scope.trx
      .insertInto('portal_request_templates')
      .values({ tenant_id: scope.tenantId, name: data.name, questions: JSON.stringify(data.sections), created_by: actorLabel(scope) })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()) as TemplateRow;
  } catch (error) {
    if (nameTaken(error)) throw new ConflictError('another template already has this name');
    throw error;
  }
  await recordAudit(scope, {
    action: 'portal.request_template_created',
    target: { type: 'portal_request_template', id: row.id },
    changes: { name: { after: data.name }, questions: { after: data.sections.reduce((n, s) => n + s.questions.length, 0) } },
  });
  return fromRow(row);
}

/** Replaces a template's name and questions; requests already sent keep what they were sent. */
export async function updateTemplate(scope: TenantScope, templateId: string, input: TemplateInput): Promise<RequestTemplate> {
  if (builtInTemplate(templateId)) throw new ConflictError('built-in templates cannot be changed; save a copy of your own instead');
  const current = await getTemplate(scope, templateId);
  const data = parseOrThrow(templateSchema, input);
  refuseBuiltInName(data.name);
  try {
    await scope.trx.updateTable('portal_request_templates').set({ name: data.name, questions: JSON.stringify(data.sections) }).where('id', '=', templateId).execute();
  } catch (error) {
    if (nameTaken(error)) throw new ConflictError('another template already has this name');
    throw error;
  }
  await recordAudit(scope, {
    action: 'portal.request_template_updated',
    target: { type: 'portal_request_template', id: templateId },
    changes: {
      name: { before: current.name, after: data.name },
      questions: { before: current.sections.reduce((n, s) => n + s.questions.length, 0), after: data.sections.reduce((n, s) => n + s.questions.length, 0) },
    },
  });
  return getTemplate(scope, templateId);
}

export async function deleteTemplate(scope: TenantScope, templateId: string): Promise<void> {
  if (builtInTemplate(templateId)) throw new ConflictError('built-in templates cannot be deleted');
  const current = await getTemplate(scope, templateId);
  await scope.trx.deleteFrom('portal_request_templates').where('id', '=', templateId).execute();
  await recordAudit(scope, { action: 'portal.request_template_deleted', target: { type: 'portal_request_template', id: templateId }, changes: { name: { before: current.name, after: null } } });
}
