// Requests to a worker awaiting their replies, by id: the bookkeeping GridWorkers and the
// training panel's TrainerGrid share.
export class Requests {
  constructor() {
    this.pending = new Map(); // id → { resolve, reject }
    this.nextId = 0;
  }

  /** A promise for the reply to a new request: `send(id)` sends it, `map` shapes the reply. */
  ask(send, map = (reply) => reply) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: (reply) => resolve(map(reply)), reject });
      send(id);
    });
  }

  resolve(id, reply) {
    this.#take(id)?.resolve(reply);
  }

  reject(id, err) {
    this.#take(id)?.reject(err);
  }

  /** Rejects every request still waiting. */
  failAll(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  #take(id) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }
}
