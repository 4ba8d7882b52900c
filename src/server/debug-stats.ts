// qwen/debugStats: a snapshot of what the server holds — KV cells per slot and in the engine,
// request counts by outcome, scheduler counters and process memory — so the soak test can check
// that everything returns to its baseline, and benchmarks can read the prompt layout.
import type { DebugStats, DebugStatsParams } from '../protocol';
import type { ChatService } from './chat/chat-service';
import type { CompletionService } from './completion/completion-service';
import type { ModelHost } from './model-host';

export function collectDebugStats(host: ModelHost, completions: CompletionService, chat: ChatService, params: DebugStatsParams | undefined): DebugStats {
  const loaded = host.current;
  if (loaded && params?.dropIdleCaches === true) loaded.pool.evictIdle();
  const kv = loaded ? loaded.model.kvUsage() : null;
  const scheduler = host.scheduler;
  const memory = process.memoryUsage();
  const last = completions.lastPrompt;
  let lastPrompt: DebugStats['lastPrompt'] = null;
  if (last) {
    const { tokens, ...layout } = last;
    lastPrompt = { ...layout };
    if (params?.includeLastPrompt === true && loaded) lastPrompt.text = loaded.model.tokenizer.decode(tokens, { special: true });
  }
  return {
    state: host.state,
    kv: kv ? { usedTokens: kv.used, capacityTokens: kv.capacity, bytesPerToken: kv.bytesPerToken } : null,
    slots: (loaded?.pool.all ?? []).map((s) => ({ id: s.id, kind: s.kind, key: s.key, tokens: s.seq.tokens.length, busy: s.busy })),
    evictions: loaded?.pool.evictions ?? 0,
    scheduler: { ...scheduler.counters, waiting: scheduler.waitingCount, busy: scheduler.busy },
    completions: { ...completions.tally.counts },
    background: completions.backgroundStats,
    chats: { ...chat.tally.counts },
    inFlight: completions.tally.inFlight + chat.tally.inFlight,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    lastPrompt,
    recentCompletions: [...completions.recent],
    liveCompletions: Object.fromEntries(completions.live),
  };
}
