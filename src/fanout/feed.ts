/**
 * The stream object's side of the fan-out: the replicas that asked for its feed, and one push to each of them
 * per change of the published timeline (every part), all renditions in one view. The object keeps no
 * per-viewer state: a replica registers when it first gets viewers (`register`, on its catch-up call) and
 * leaves when it answers a push idle, fails to take one, or takes longer than PUSH_TIMEOUT_MS (it then catches
 * up on its own and registers again, replica-do.ts). The list is kept in the object's storage (it changes
 * only when a replica joins or leaves), so a restarted object goes on feeding its replicas from its first
 * change instead of leaving them to notice the silence.
 */
import type { MultivariantHints } from '../hls/variants.ts';
import type { StreamState } from '../stream/model.ts';
import { asLocationHint, type ReplicaRef, replicaName } from './regions.ts';
import type { FeedVersion, ReplicaView } from './view.ts';
import { viewState } from './view.ts';

/** A replica's answer to a push: whether to keep feeding it, and its delivery figures (health `delivery`). */
export interface ReplicaAck {
  /** False once the replica has had no viewer request for REPLICA_IDLE_MS. */
  keep: boolean;
  requestsPerSecond: number;
  /** Viewer calls it took since it started. */
  requests: number;
  /** Distinct viewers its isolates reported (src/edge/viewers.ts). */
  viewers: number;
  /** Playlist and part lookups in its isolates' edge caches, and how many were hits. */
  cacheLookups: number;
  cacheHits: number;
  /** Replicas this answer covers: 1, plus the shards a region's shard 0 feeds (region-shards.ts). */
  replicas: number;
}

/** What the stream object calls on a replica (replica-do.ts). */
export interface ReplicaFeedSink {
  receive(view: ReplicaView): Promise<ReplicaAck>;
}

/**
 * How long a push may take before the replica is cut from the feed. Pushes are awaited (a relay's upload is
 * answered once every live replica holds the part, so a 201 means "servable everywhere"), so this bounds how
 * much a slow or unreachable replica can delay the relay.
 */
export const PUSH_TIMEOUT_MS = 1_000;

export interface FeedEntry {
  ref: ReplicaRef;
  name: string;
  /** Epoch ms (the object's clock). */
  registeredAt: number;
  /** The replica's last answer to a push; null before the first. */
  ack: ReplicaAck | null;
  /** Pushes sent to it (tests count them: one per replica per part). */
  pushes: number;
}

export type FeedNamespace = {
  idFromName(name: string): DurableObjectId;
  get(
    id: DurableObjectId,
    options?: DurableObjectNamespaceGetDurableObjectOptions,
  ): DurableObjectStub<ReplicaFeedSink & Rpc.DurableObjectBranded>;
};

/** Where the list of fed replicas survives a restart (the object's synchronous KV storage). */
export interface FeedStore {
  load(): ReplicaRef[];
  save(refs: ReplicaRef[]): void;
}

const STORE_KEY = 'fanout:replicas';

export function kvFeedStore(kv: SyncKvStorage): FeedStore {
  return {
    load: () => kv.get<ReplicaRef[]>(STORE_KEY) ?? [],
    save: (refs) => kv.put(STORE_KEY, refs),
  };
}

export class ReplicaFeed {
  readonly #namespace: FeedNamespace;
  readonly #store: FeedStore;
  readonly #replicas = new Map<string, FeedEntry>();
  readonly #epoch: number;
  #seq = 0;
  #memo: { state: StreamState; archive: readonly StreamState[]; view: ReplicaView } | null = null;
  /** Pushes sent, over the object's life (a Prometheus counter and the health rate). */
  pushes = 0;

  /** `epoch`: the wall clock when this instance started (view.ts `FeedVersion`). */
  constructor(namespace: FeedNamespace, store: FeedStore, epoch: number, now: number) {
    this.#namespace = namespace;
    this.#store = store;
    this.#epoch = epoch;
    for (const ref of store.load()) this.#add(ref, now);
  }

  /** The view of `state`; the same value (same version) for as long as the state and archive are the same. */
  view(state: StreamState, archive: readonly StreamState[], hints: MultivariantHints = {}): ReplicaView {
    const memo = this.#memo;
    const same = memo?.view.multivariantHints.ingestBitrate === hints.ingestBitrate;
    if (memo && memo.state === state && memo.archive === archive && same) return memo.view;
    const version: FeedVersion = { epoch: this.#epoch, seq: ++this.#seq };
    const archivedEventIds = archive.flatMap((e) => (e.eventId ? [e.eventId] : []));
    const view = { version, state: viewState(state), archivedEventIds, multivariantHints: { ...hints } };
    this.#memo = { state, archive, view };
    return view;
  }

  register(ref: ReplicaRef, now: number): void {
    if (this.#add(ref, now)) this.#save();
  }

  #add(ref: ReplicaRef, now: number): boolean {
    const name = replicaName(ref);
    if (this.#replicas.has(name)) return false;
    this.#replicas.set(name, { ref, name, registeredAt: now, ack: null, pushes: 0 });
    return true;
  }

  #drop(name: string): void {
    if (this.#replicas.delete(name)) this.#save();
  }

  #save(): void {
    this.#store.save(this.entries().map((e) => e.ref));
  }

  entries(): FeedEntry[] {
    return [...this.#replicas.values()];
  }

  /** Pushes `view` to every registered replica at once; drops those that answer idle, fail or time out. */
  async push(view: ReplicaView): Promise<void> {
    const entries = this.entries();
    await Promise.all(entries.map((entry) => this.#pushOne(entry, view)));
  }

  async #pushOne(entry: FeedEntry, view: ReplicaView): Promise<void> {
    entry.pushes++;
    this.pushes++;
    const hint = asLocationHint(entry.ref.region);
    const stub = this.#namespace.get(
      this.#namespace.idFromName(entry.name),
      hint ? { locationHint: hint } : {},
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), PUSH_TIMEOUT_MS);
    });
    try {
      const ack = await Promise.race([stub.receive(view), timeout]);
      if (ack === 'timeout' || !ack.keep) this.#drop(entry.name);
      else entry.ack = ack;
    } catch (err) {
      console.warn('replica push failed; it will catch up', entry.name, String(err));
      this.#drop(entry.name);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}
