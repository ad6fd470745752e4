import { type FlashMessage, flash, MESSAGE_LEVELS } from '../../index.js';
import { areaMutation } from '../../pothos.js';
import { builder } from '../builder.js';

export const MessageLevelEnum = builder.enumType('MessageLevel', {
  values: MESSAGE_LEVELS,
  description: "Django's message levels (django.contrib.messages).",
});

export const FlashMessageRef = builder.objectRef<FlashMessage>('FlashMessage');

FlashMessageRef.implement({
  description: 'A message for the next page the visitor sees, shown once.',
  fields: (t) => ({
    level: t.field({ type: MessageLevelEnum, resolve: (m) => m.level }),
    text: t.exposeString('text'),
  }),
});

builder.mutationFields((t) => ({
  addFlashMessage: areaMutation(t, flash, 'add', {
    type: [FlashMessageRef],
    description: 'Adds a message (1 to 1000 characters; at most 50 pending); returns the pending messages.',
    args: {
      level: t.arg({ type: MessageLevelEnum, required: true, defaultValue: 'INFO' }),
      text: t.arg.string({ required: true }),
    },
  }),
  consumeFlashMessages: areaMutation(t, flash, 'consume', {
    type: [FlashMessageRef],
    description: 'Returns the pending messages and removes them, atomically: each message is delivered once.',
  }),
}));
