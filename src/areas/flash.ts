import { z } from 'zod';
import { defineArea } from '../core/area.js';
import { InputError } from '../core/errors.js';
import { validateText } from '../core/text.js';

/** Django's message levels (django.contrib.messages), in order. */
export const MESSAGE_LEVELS = ['DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR'] as const;
export type MessageLevel = (typeof MESSAGE_LEVELS)[number];

export interface FlashMessage {
  level: MessageLevel;
  text: string;
}

export const FLASH_LIMITS = { textLength: 1000, pending: 50 } as const;

const message = z.object({ level: z.enum(MESSAGE_LEVELS), text: z.string() });

/**
 * Flash messages: Django's messages framework with its SessionStorage, stored
 * in the session under the reserved key `_messages`. A message is added by
 * one request and shown by a later one; consuming returns and removes the
 * pending messages in one atomic change, so each is delivered once, also to
 * two tabs consuming at the same moment.
 */
export const flash = defineArea({
  key: '_messages',
  schema: z.array(z.unknown()).transform((raw) => raw.flatMap((m) => (message.safeParse(m).success ? [message.parse(m)] : []))),
  default: [] as FlashMessage[],
  refusals: {
    FLASH_PENDING: { argument: 'text', rule: `at most ${FLASH_LIMITS.pending} messages may be pending; nothing was changed` },
  },
})
  .operation('add', {
    input: (input: { level?: MessageLevel | null; text: string }) => {
      const level = input.level ?? 'INFO';
      if (!MESSAGE_LEVELS.includes(level)) throw new InputError('level', `must be one of ${MESSAGE_LEVELS.join(', ')}`);
      const n = [...input.text].length;
      if (n < 1 || n > FLASH_LIMITS.textLength)
        throw new InputError('text', `must be 1 to ${FLASH_LIMITS.textLength} characters (got ${n})`);
      return { level, text: validateText('text', input.text) };
    },
    apply: (pending, added, refuse) => (pending.length >= FLASH_LIMITS.pending ? refuse('FLASH_PENDING') : [...pending, added]),
  })
  .operation('consume', {
    /** Returns the pending messages and removes them, atomically. */
    input: (_input: Record<string, never>) => ({}),
    apply: () => undefined,
    result: (_next, previous) => previous,
  });
