import { zodInput } from 'sessionql';
import { z } from 'zod';

/** A SKU as the shop's areas accept it (checked before any database or session work). */
export const skuSchema = z
  .string()
  .min(1, 'must be 1 to 64 characters')
  .max(64, 'must be 1 to 64 characters')
  .regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters, digits, ".", "_" and "-"');

/**
 * The input of an operation that takes one SKU: `{ sku }`. As an operation's
 * `input`, sessionql turns its first issue into BAD_USER_INPUT naming `sku`.
 */
export const skuInput = z.object({ sku: skuSchema });

/**
 * The same check for a resolver, before it asks the database: throws
 * InputError, which sessionql answers as BAD_USER_INPUT naming `sku`.
 */
export const checkSku = zodInput(skuInput);
