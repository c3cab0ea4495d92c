/**
 * Recent clicks per user, kept in memory between a user's requests: the service's stand-in for a
 * feature store. Bounded twice — the most recent `perUser` clicks of the most recently active
 * `users` users — so a long-running service cannot grow without limit. A feature store would plug
 * in behind the same two methods.
 */
export class RecentClicks {
  private readonly byUser = new Map<string, string[]>();

  constructor(
    readonly users = 100_000,
    readonly perUser = 50,
  ) {}

  add(userId: string, itemId: string): void {
    const clicks = this.byUser.get(userId) ?? [];
    clicks.push(itemId);
    if (clicks.length > this.perUser) clicks.splice(0, clicks.length - this.perUser);
    // Re-inserting moves the user to the newest end; the oldest user goes first when full.
    this.byUser.delete(userId);
    this.byUser.set(userId, clicks);
    if (this.byUser.size > this.users) this.byUser.delete(this.byUser.keys().next().value as string);
  }

  /** The user's clicks, oldest first (empty for an unknown user). */
  of(userId: string): readonly string[] {
    return this.byUser.get(userId) ?? [];
  }

  get size(): number {
    return this.byUser.size;
  }
}
