import { formatPence } from '../payments/money.ts';

/**
 * What a reminder says. Each is addressed from the practice by name and points at the item in the
 * portal; an item past its date says so in the subject, so the client sees it in their inbox list.
 */
export interface ReminderWording {
  subject: string;
  text: string;
}

const longDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });

/** 2026-03-12 (a calendar date, as stored) → "12 March 2026". */
function calendarDate(isoDate: string): string {
  return longDate.format(new Date(`${isoDate}T12:00:00Z`));
}

export function flowReminder(practice: string, flow: { id: string; kind: 'approval' | 'signature'; title: string; expiresAt: Date | null }, portalUrl: string): ReminderWording {
  const verb = flow.kind === 'signature' ? 'sign' : 'approve';
  return {
    subject: `Reminder: ${practice} is waiting for you to ${verb} “${flow.title}”`,
    text:
      `${practice} sent you “${flow.title}” to ${verb} and is still waiting for your answer.\n\n` +
      `Sign in to your portal to see it:\n${portalUrl}/portal/flows/${flow.id}\n` +
      (flow.expiresAt ? `\nPlease respond by ${flow.expiresAt.toUTCString()}; after that it can no longer be ${flow.kind === 'signature' ? 'signed' : 'approved'}.\n` : ''),
  };
}

export function requestReminder(practice: string, request: { id: string; title: string; dueAt: Date | null; overdue: boolean }, portalUrl: string): ReminderWording {
  const link = `Sign in to your portal to answer it:\n${portalUrl}/portal/requests/${request.id}\n`;
  if (request.overdue) {
    return {
      subject: `Overdue: ${practice} still needs your answers to “${request.title}”`,
      text:
        `${practice} asked you to complete “${request.title}” by ${request.dueAt!.toUTCString()}. That date has passed and ` +
        `the practice is still waiting for your answers.\n\n${link}`,
    };
  }
  return {
    subject: `Reminder: ${practice} is waiting for your answers to “${request.title}”`,
    text: `${practice} asked you to complete “${request.title}” and is still waiting for your answers.\n\n${link}` + (request.dueAt ? `\nPlease answer by ${request.dueAt.toUTCString()}.\n` : ''),
  };
}

function amount(pence: number, currency: string): string {
  return currency.toLowerCase() === 'gbp' ? formatPence(pence) : `${(pence / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

export function invoiceReminder(practice: string, invoice: { id: string; number: string; grossPence: number; currency: string; dueOn: string; overdue: boolean }, portalUrl: string): ReminderWording {
  const total = amount(invoice.grossPence, invoice.currency);
  const link = `Sign in to your portal to see it and pay online:\n${portalUrl}/portal/invoices/${invoice.id}\n`;
  if (invoice.overdue) {
    return {
      subject: `Overdue: invoice ${invoice.number} from ${practice} (${total})`,
      text: `Invoice ${invoice.number} from ${practice} for ${total} was due on ${calendarDate(invoice.dueOn)} and has not been paid yet.\n\n${link}`,
    };
  }
  return {
    subject: `Reminder: invoice ${invoice.number} from ${practice} (${total})`,
    text: `Invoice ${invoice.number} from ${practice} for ${total} is due on ${calendarDate(invoice.dueOn)}.\n\n${link}`,
  };
}

/** The first email about an invoice: it has been raised, for how much, and by when. */
export function invoiceIssued(practice: string, invoice: { id: string; number: string; grossPence: number; vatPence: number; currency: string; dueOn: string }, portalUrl: string): ReminderWording {
  const total = amount(invoice.grossPence, invoice.currency);
  return {
    subject: `Invoice ${invoice.number} from ${practice} (${total})`,
    text:
      `${practice} has sent you invoice ${invoice.number} for ${total} (including VAT of ${amount(invoice.vatPence, invoice.currency)}), due on ${calendarDate(invoice.dueOn)}.\n\n` +
      `Sign in to your portal to see it and pay online:\n${portalUrl}/portal/invoices/${invoice.id}\n`,
  };
}

/** To the practice's admins, once, two weeks before a year of storage bought ends. */
export function storageEnding(practice: string, term: { bytes: number; expiresAt: Date }, portalUrl: string): ReminderWording {
  const size = `${(term.bytes / 1024 ** 3).toFixed(term.bytes % 1024 ** 3 === 0 ? 0 : 1)} GB`;
  const day = longDate.format(term.expiresAt);
  return {
    subject: `${practice}: ${size} of document storage ends on ${day}`,
    text:
      `The ${size} of document storage ${practice} bought a year ago ends on ${day}. After that it no longer counts ` +
      `towards the practice's storage: documents already held stay, but new uploads are refused while the practice ` +
      `is over its quota.\n\nTo keep it, buy storage again:\n${portalUrl}/portal/billing\n`,
  };
}
