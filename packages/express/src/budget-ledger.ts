import { randomUUID } from 'node:crypto';
import {
  currentWindow,
  retryAfterMs,
  sliceExpiresAt,
  validateBudgetWindow,
  type WindowInstance,
} from './budget-window';
import type { BudgetReservationRequest, BudgetWindow, ReserveResult } from './types';

/** How long an unsettled reservation holds budget before it is presumed lost (its process crashed). */
export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;

/** Checks the reservation requests of one call (throws `TypeError` on amounts a counter cannot hold). */
export function validateReservationRequests(requests: BudgetReservationRequest[]): void {
  if (!Array.isArray(requests)) throw new TypeError('reserve expects an array of budget requests');
  for (const request of requests) {
    if (typeof request.budgetId !== 'string' || request.budgetId === '') {
      throw new TypeError('a budget request needs a non-empty budgetId');
    }
    validateBudgetWindow(request.window);
    if (!Number.isSafeInteger(request.limit) || request.limit < 0) {
      throw new TypeError(`budget ${request.budgetId}: limit must be a non-negative safe integer`);
    }
    if (!Number.isSafeInteger(request.amount) || request.amount < 0) {
      throw new TypeError(`budget ${request.budgetId}: amount must be a non-negative safe integer`);
    }
  }
}

/** Checks settle amounts: one non-negative integer per reserved budget (missing ones keep the reserved amount). */
export function validateActualAmounts(actualAmounts: number[]): void {
  if (!Array.isArray(actualAmounts)) throw new TypeError('settle expects an array of amounts');
  for (const amount of actualAmounts) {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new TypeError(`settle amounts must be non-negative safe integers, got ${String(amount)}`);
    }
  }
}

/** The storage key of a budget's counter in a window: same budget and window definition, same counter. */
export function counterKey(budgetId: string, instance: WindowInstance): string {
  return `${budgetId}\u0000${instance.key}`;
}

interface Counter {
  /** Spend per slice (calendar windows use slice 0). */
  slices: Map<number, number>;
  /** Live reservations against this counter: reservation id → amount. */
  reserved: Map<string, number>;
  /** When the counter can be forgotten. */
  expiresAt: number;
}

interface ReservationItem {
  counter: string;
  window: BudgetWindow;
  amount: number;
}

interface Reservation {
  items: ReservationItem[];
  /** The reservation stops holding budget at this instant. */
  expiresAt: number;
}

/**
 * In-process budget counters with the store contract's semantics: all-or-nothing reservations across
 * budgets, settle to the actual amount, reservations that expire. JavaScript runs one call at a time, so
 * each method is atomic without locks.
 */
export class BudgetLedger {
  private readonly counters = new Map<string, Counter>();
  private readonly reservations = new Map<string, Reservation>();
  private sweepAt = 0;

  constructor(private readonly reservationTtlMs = DEFAULT_RESERVATION_TTL_MS) {}

  reserve(requests: BudgetReservationRequest[], now: number): ReserveResult {
    validateReservationRequests(requests);
    this.sweep(now);
    const planned: { counter: Counter; key: string; amount: number }[] = [];
    const remaining: number[] = [];
    // A call may name the same counter twice (two rules, one subject): earlier items count toward later ones.
    const pending = new Map<string, number>();
    for (const request of requests) {
      const instance = currentWindow(request.window, now);
      const key = counterKey(request.budgetId, instance);
      const counter = this.counter(key, instance);
      const used = this.used(counter, instance, now) + (pending.get(key) ?? 0);
      if (used + request.amount > request.limit) {
        return {
          ok: false,
          budgetId: request.budgetId,
          limit: request.limit,
          used,
          retryAfterMs: retryAfterMs(instance, now, request.limit, used, request.amount, counter.slices),
        };
      }
      pending.set(key, (pending.get(key) ?? 0) + request.amount);
      planned.push({ counter, key, amount: request.amount });
      remaining.push(request.limit - used - request.amount);
    }
    const reservationId = randomUUID();
    const items: ReservationItem[] = [];
    planned.forEach(({ counter, key, amount }, index) => {
      counter.reserved.set(reservationId, (counter.reserved.get(reservationId) ?? 0) + amount);
      items.push({ counter: key, window: requests[index]!.window, amount });
    });
    this.reservations.set(reservationId, { items, expiresAt: now + this.reservationTtlMs });
    return { ok: true, reservationId, remaining };
  }

  settle(reservationId: string, actualAmounts: number[], now: number): void {
    validateActualAmounts(actualAmounts);
    const reservation = this.take(reservationId);
    if (!reservation) return;
    reservation.items.forEach((item, index) => {
      const counter = this.counters.get(item.counter);
      if (!counter) return;
      const actual = actualAmounts[index] ?? item.amount;
      // Rolling spend lands in the slice of the moment it was settled; calendar spend in the reserved window.
      const instance = currentWindow(item.window, now);
      const slice = instance.kind === 'rolling' ? instance.currentSlice : 0;
      counter.slices.set(slice, (counter.slices.get(slice) ?? 0) + actual);
      if (instance.kind === 'rolling') {
        counter.expiresAt = Math.max(counter.expiresAt, sliceExpiresAt(slice, instance.sliceMs));
      }
    });
  }

  release(reservationId: string): void {
    this.take(reservationId);
  }

  usage(budgetId: string, window: BudgetWindow, now: number): number {
    validateBudgetWindow(window);
    const instance = currentWindow(window, now);
    const counter = this.counters.get(counterKey(budgetId, instance));
    return counter ? this.used(counter, instance, now) : 0;
  }

  private take(reservationId: string): Reservation | undefined {
    const reservation = this.reservations.get(reservationId);
    if (!reservation) return undefined;
    this.reservations.delete(reservationId);
    for (const item of reservation.items) this.counters.get(item.counter)?.reserved.delete(reservationId);
    return reservation;
  }

  private counter(key: string, instance: WindowInstance): Counter {
    let counter = this.counters.get(key);
    if (!counter) {
      counter = { slices: new Map(), reserved: new Map(), expiresAt: 0 };
      this.counters.set(key, counter);
    }
    const horizon =
      instance.kind === 'calendar' ? instance.end : sliceExpiresAt(instance.currentSlice, instance.sliceMs);
    counter.expiresAt = Math.max(counter.expiresAt, horizon);
    return counter;
  }

  private used(counter: Counter, instance: WindowInstance, now: number): number {
    let spent = 0;
    for (const [slice, amount] of counter.slices) {
      if (instance.kind === 'rolling' && slice < instance.firstLiveSlice) counter.slices.delete(slice);
      else spent += amount;
    }
    let reserved = 0;
    for (const [id, amount] of counter.reserved) {
      const reservation = this.reservations.get(id);
      if (reservation && reservation.expiresAt > now) reserved += amount;
    }
    return spent + reserved;
  }

  /**
   * Forgets ended windows and long-expired reservations, at most once a second. An expired reservation no
   * longer holds budget but is kept for another TTL, so a late settle still records its spend.
   */
  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 1000;
    for (const [id, reservation] of this.reservations) {
      if (reservation.expiresAt + this.reservationTtlMs <= now) this.take(id);
    }
    for (const [key, counter] of this.counters) {
      if (counter.expiresAt <= now && counter.reserved.size === 0) this.counters.delete(key);
    }
  }
}
