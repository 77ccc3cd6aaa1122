#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus: one hand-written input per ordering-sensitive
AC item of docs/spec.md (AC-12..15, 19..21, 26..30, 34..38), then seeds for the
extended alphabet (the counters among them), the shutdown and the fail-fast
alphabets. The inputs encode operations as
join_map_fuzz.cpp decodes them; rerun this after changing either. Also writes
the inputs of two contract violations the model found (since fixed) as
found_* files. Not part of the build: the generated files are committed."""
import os

SPAWN, ABORT, MATCH, ABORT_ALL, DETACH, OPEN, STEP, QUIESCE, TRY, JOIN, CANCEL, CONTAINS, MOVE, RECREATE, RESPAWN, OPEN_ALL = range(16)
# The extended alphabet (first byte 2 or 3).
KEY_JOIN, CANCEL_KEY, DETACH_KEY, JOIN_WAIT, QUERIES, TRY2, REQUEST, REQUEST_MANY = range(16, 24)
LIMIT, TRY_SPAWN, DUE_SPAWN, LATE_SPAWN, ASYNC_SPAWN, CANCEL_SPAWN, QUEUED, QUIESCE2 = range(24, 32)
# The shutdown alphabet (first byte 6 or 7).
SHUTDOWN, CANCEL_SHUTDOWN, PASS_GRACE, HANDLE_ABORT = range(32, 36)
G_NONE, G_ZERO, G_NEGATIVE, G_SHORT, G_FAR = range(5)  # SHUTDOWN's byte: async_shutdown(), grace 0, -5 ms, 2 ms, 1 h
TERMINAL, PARTIAL, TOTAL = range(3)  # CANCEL_SHUTDOWN's, HANDLE_ABORT's and CANCEL_ALL's type byte
# The fail-fast alphabet (first byte 8 or 9): the shutdown alphabet and
# async_join_all (JOIN_ALL, whose byte says which), its cancellation.
JOIN_ALL, CANCEL_ALL = range(36, 38)
PLAIN, FF = range(2)  # JOIN_ALL's byte: async_join_all, async_join_all(joinery::fail_fast)
VALUE, THROW, NEVER = range(3)


# NOTE: spawn(), task() and respawn() write `steps | (yields << 3)`, which the
# decoder reads as `b % 5` steps: with yields, the step count differs from
# `steps` (spawn(6, 1, 1) is four steps: a yield, then three gates). Kept as
# they are, so that the seeds written with them stay the committed bytes;
# new seeds use script_byte().
def spawn(key, steps=0, yields=0, end=VALUE, value=7):
    return [SPAWN, key, steps | (yields << 3), end, value]


def script_byte(steps, yields=0, graceful=False):
    """The script byte the decoder reads as `steps` suspensions (b % 5), with the
    yield bits `yields` ((b >> 3) & 15) and, in the shutdown alphabet, graceful
    (bit 7)."""
    base = (yields << 3) | (0x80 if graceful else 0)
    return next(b for b in range(base, base + 8) if b % 5 == steps)


def sp(key, steps=0, yields=0, end=VALUE, value=7, graceful=False):
    """A spawn, encoded exactly (see script_byte)."""
    return [SPAWN, key, script_byte(steps, yields, graceful), end, value]


def task(key, steps=0, yields=0, end=VALUE, value=7):
    """The key and script bytes of TRY_SPAWN, DUE_SPAWN, LATE_SPAWN, ASYNC_SPAWN."""
    return [key, steps | (yields << 3), end, value]


def respawn(index, steps=0, yields=0, end=VALUE, value=9):
    return [RESPAWN, index, steps | (yields << 3), end, value]


seeds = {
    "ac12_replace_pending": spawn(1, 1) + spawn(1, 0, value=2) + [QUIESCE, TRY, TRY],
    "ac13_replace_wakes_no_phantom": spawn(1) + [QUIESCE, JOIN] + spawn(1, 1, value=3) + [QUIESCE, OPEN_ALL, QUIESCE],
    "ac14_try_skips_replaced_finished": spawn(2) + [QUIESCE] + spawn(2, 1, value=4) + [TRY, OPEN_ALL, QUIESCE, TRY, TRY],
    "ac15_replace_chain": spawn(3, 1) + respawn(0, 1) + respawn(0, 0) + respawn(0, 2, 1) + [STEP, 3, OPEN_ALL, QUIESCE, TRY, TRY],
    "ac19_abort_all": spawn(1, 1) + spawn(2, 1) + spawn(3, 0) + [STEP, 2, ABORT_ALL, CONTAINS, 1, QUIESCE, TRY, TRY, TRY, TRY],
    "ac20_abort_finished_keeps_value": spawn(5, 0, value=55) + [QUIESCE, ABORT, 5, TRY],
    "ac21_abort_races_completion": spawn(6, 1, 1) + [STEP, 1, ABORT, 6, STEP, 1, TRY, QUIESCE, TRY],
    "ac21_abort_after_yield": spawn(6, 1, 1) + [STEP, 2, ABORT, 6, QUIESCE, TRY],
    "ac26_destroy_aborts": spawn(1, 2) + spawn(2, 1, 0, NEVER) + [STEP, 2, JOIN, RECREATE, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "ac28_destroy_before_run": spawn(1) + spawn(2, 3) + [RECREATE, QUIESCE, TRY],
    "ac29_detach_with_pending_join": spawn(1, 1) + spawn(2, 0, 0, NEVER) + [JOIN, STEP, 1, DETACH, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "ac30_executor_gone": spawn(1, 1) + spawn(2, 0, 0, NEVER) + spawn(3) + [STEP, 3, JOIN],
    "ac31_throwing_task": spawn(4, 1, 1, THROW) + [QUIESCE, TRY],
    "ac34_try_nothing_ready": spawn(1, 1) + [TRY, QUIESCE, TRY, OPEN, 0, QUIESCE, TRY, TRY],
    "ac35_try_advances": spawn(1) + spawn(2) + spawn(3) + spawn(4) + [QUIESCE, TRY, TRY, TRY, TRY, TRY],
    "ac36_37_try_with_pending_join": spawn(1) + spawn(2, 1) + [JOIN, STEP, 1, TRY, QUIESCE, OPEN_ALL, STEP, 2, TRY, QUIESCE],
    "ac38_cancel_join": spawn(1, 1) + [JOIN, STEP, 1, CANCEL, 0, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "ac38_cancel_woken_join": spawn(1) + [QUIESCE, JOIN, CANCEL, 2, QUIESCE, TRY],
    "ac39_second_waiter": spawn(1, 1) + [JOIN, JOIN, OPEN_ALL, QUIESCE],
    "move_with_pending_join": spawn(1, 1) + [JOIN, MOVE, OPEN_ALL, QUIESCE, TRY],
    "abort_matching_mixed": spawn(1, 1) + spawn(2, 1) + spawn(3, 0) + spawn(4, 1, 0, NEVER) + [STEP, 4, MATCH, 0, 1, QUIESCE, TRY, TRY, TRY, TRY, ABORT_ALL, QUIESCE, TRY],
}

# Seeds of the extended alphabet: joins by key, detach by key, joins that wait
# while empty, ready_count / is_finished / get_abort_handle, and destroying
# the map with all of them in flight.
extended = {
    "key_join_pending": spawn(1, 1) + [KEY_JOIN, 1, STEP, 2, QUERIES, 1, OPEN_ALL, QUIESCE, QUERIES, 1],
    "key_join_finished": spawn(1) + [QUIESCE, QUERIES, 1, KEY_JOIN, 1, TRY, QUERIES, 1, QUIESCE, QUERIES, 1],
    "key_join_missing": spawn(2) + [KEY_JOIN, 5, QUIESCE, TRY],
    "key_join_twice": spawn(1, 1) + [KEY_JOIN, 1, KEY_JOIN, 1, OPEN_ALL, QUIESCE],
    "key_join_replaced": spawn(1, 1) + [KEY_JOIN, 1] + spawn(1) + [QUIESCE, TRY],
    "key_join_detached": spawn(1, 1) + [KEY_JOIN, 1, DETACH_KEY, 1, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "key_join_detach_all": spawn(1, 1) + spawn(2) + [KEY_JOIN, 1, DETACH, QUIESCE],
    "key_join_cancelled": spawn(1, 1) + [KEY_JOIN, 1, CANCEL_KEY, 0, 0, OPEN_ALL, QUIESCE, TRY],
    "key_join_cancel_woken": spawn(1) + [QUIESCE, KEY_JOIN, 1, CANCEL_KEY, 0, 2, QUIESCE, TRY],
    "key_join_beside_next": spawn(1, 1) + spawn(2, 1) + [KEY_JOIN, 1, JOIN, OPEN, 0, QUIESCE, TRY, OPEN_ALL, QUIESCE],
    "key_join_empties_next": spawn(1, 1) + [JOIN, KEY_JOIN, 1, QUIESCE, OPEN_ALL, QUIESCE],
    # Graceful requests (partial, total) that tasks accepting only terminal
    # cancellation ignore; a terminal abort after them still cancels.
    "request_ignored_then_abort": spawn(1, 1) + spawn(2, 0, 0, NEVER) + [STEP, 2, REQUEST, 1, 0, REQUEST, 2, 1, QUIESCE, QUERIES, 1, ABORT, 2, OPEN_ALL, QUIESCE, TRY, TRY],
    "request_before_start": spawn(1, 1) + [REQUEST, 1, 1, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "request_many_then_abort_all": spawn(1, 1) + spawn(2, 1) + spawn(3, 0, 0, NEVER) + [STEP, 3, REQUEST_MANY, 0, 0, REQUEST_MANY, 1, 2, QUIESCE, ABORT_ALL, QUIESCE, TRY, TRY, TRY],
    "request_after_abort": spawn(1, 0, 0, NEVER) + [STEP, 1, ABORT, 1, REQUEST, 1, 0, QUIESCE, TRY],
    "key_join_abort": spawn(1, 1, 0, NEVER) + [STEP, 1, KEY_JOIN, 1, ABORT, 1, QUIESCE],
    "wait_if_empty_empty": [JOIN_WAIT, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "wait_if_empty_detach_all": spawn(1, 1) + [JOIN_WAIT, DETACH, QUIESCE] + spawn(2) + [QUIESCE],
    "wait_if_empty_cancel": [JOIN_WAIT, CANCEL, 1, QUIESCE, JOIN, QUIESCE],
    "wait_if_empty_second": [JOIN_WAIT, JOIN_WAIT, JOIN, QUIESCE] + spawn(3) + [QUIESCE],
    "destroy_with_joins": spawn(1, 0, 0, NEVER) + spawn(2, 1) + [KEY_JOIN, 1, JOIN_WAIT, STEP, 2, RECREATE, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "destroy_aborts_never": spawn(1, 0, 0, NEVER) + spawn(2, 2) + spawn(3, 1, 1, NEVER) + [STEP, 3, RECREATE, QUIESCE],
    # Scheduling: the concurrency limit's queue, try_spawn, async_spawn,
    # deadlines already due or far away, destroying the map with all queued.
    "limit_queue_order": [LIMIT, 1] + spawn(1, 1) + spawn(2) + spawn(3, 1) + [QUEUED, QUIESCE, QUEUED, OPEN_ALL, QUIESCE, TRY, TRY, TRY],
    "limit_abort_queued": [LIMIT, 1] + spawn(1, 0, 0, NEVER) + spawn(2) + spawn(3) + [ABORT, 2, QUEUED, TRY, ABORT_ALL, QUIESCE, TRY, TRY],
    "limit_replace_queued": [LIMIT, 1] + spawn(1, 1) + spawn(2) + spawn(2, 0, value=5) + [QUEUED, OPEN_ALL, QUIESCE, TRY, TRY],
    "limit_detach_queued": [LIMIT, 2] + spawn(1, 0, 0, NEVER) + spawn(2, 1) + spawn(3) + [DETACH_KEY, 3, QUEUED, DETACH, QUIESCE],
    "limit_raise_and_lower": [LIMIT, 1] + spawn(1, 1) + spawn(2, 1) + spawn(3, 1) + [LIMIT, 3, QUEUED, LIMIT, 1] + spawn(4) + [QUEUED, OPEN_ALL, QUIESCE, TRY, TRY, TRY, TRY],
    "limit_with_keyed_join": [LIMIT, 1] + spawn(1, 1) + spawn(2) + [KEY_JOIN, 2, JOIN, OPEN_ALL, QUIESCE],
    "try_spawn_full": [LIMIT, 1] + spawn(1, 1) + [TRY_SPAWN] + task(2) + [OPEN_ALL, QUIESCE, TRY, TRY_SPAWN] + task(2) + [QUIESCE, TRY],
    "async_spawn_waits": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(2) + [ASYNC_SPAWN] + task(3) + [QUIESCE, OPEN_ALL, QUIESCE, TRY, TRY, TRY],
    "async_spawn_cancel": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(2) + [ASYNC_SPAWN] + task(3) + [CANCEL_SPAWN, 0, QUIESCE, OPEN_ALL, QUIESCE, TRY, TRY],
    "async_spawn_replaces": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(1, value=3) + [OPEN_ALL, QUIESCE, TRY, TRY],
    "async_spawn_plain_spawn_races": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(2) + [OPEN_ALL, STEP, 1] + spawn(3, 1) + [QUIESCE, OPEN_ALL, QUIESCE, TRY, TRY, TRY],
    "async_spawn_no_limit": [ASYNC_SPAWN] + task(1) + [CANCEL_SPAWN, 0, QUIESCE, TRY],
    "due_deadline": [DUE_SPAWN] + task(1, 1) + [DUE_SPAWN] + task(2, 0) + [JOIN, QUIESCE, TRY, TRY],
    "due_deadline_queued": [LIMIT, 1] + spawn(1, 0, 0, NEVER) + [DUE_SPAWN] + task(2) + [QUIESCE, QUEUED, TRY, ABORT, 1, QUIESCE, TRY],
    "late_deadline": [LATE_SPAWN] + task(1, 1) + [LATE_SPAWN] + task(2, 0, 0, NEVER) + [QUIESCE, OPEN_ALL, QUIESCE, TRY, ABORT, 2, QUIESCE, TRY],
    "deadline_abort_first": [DUE_SPAWN] + task(1, 0, 0, NEVER) + [ABORT, 1, QUIESCE, TRY],
    "destroy_with_queue": [LIMIT, 1] + spawn(1, 1) + spawn(2) + [ASYNC_SPAWN] + task(3) + [DUE_SPAWN] + task(4) + [RECREATE, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "io_death_with_queue": [LIMIT, 2] + spawn(1, 0, 0, NEVER) + spawn(2, 1) + spawn(3) + spawn(4, 1) + [LATE_SPAWN] + task(5) + [STEP, 2],
}

# Seeds of the shutdown alphabet. Tasks are numbered in spawn order (the
# index OPEN and HANDLE_ABORT take). Detached tasks run on: their gates
# still open, they reach their end, destroying the map does not cancel them,
# their own abort_handle still does. async_shutdown: at once; with a grace
# period of zero or less; with one of an hour (started tasks are asked, the
# graceful ones stop, the others run on; tasks not started are aborted at
# once); with one of 2 ms, let pass (the others are aborted then);
# cancelled (what was only asked runs on); beside another join
# (already_started); with the map destroyed or moved under it.
shutdown = {
    "detach_runs_on": sp(1, 1) + [QUIESCE, DETACH_KEY, 1, QUIESCE, QUERIES, 1, OPEN, 0, QUIESCE, TRY],
    "detach_survives_destruction": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 2, 1) + [QUIESCE, DETACH_KEY, 1, DETACH_KEY, 2, DETACH_KEY, 3, RECREATE, QUIESCE, OPEN_ALL, QUIESCE, HANDLE_ABORT, 1, TERMINAL, QUIESCE, TRY],
    "detach_all_runs_on": sp(1, 1) + sp(2, 1, 0, THROW) + sp(3, 0, 0, NEVER) + sp(4, 1, graceful=True) + [STEP, 1, DETACH, RECREATE, QUIESCE, OPEN_ALL, QUIESCE, HANDLE_ABORT, 2, TOTAL, QUIESCE, HANDLE_ABORT, 2, TERMINAL, QUIESCE],
    "detach_before_start": sp(1, 0) + sp(2, 1) + [DETACH_KEY, 1, DETACH_KEY, 2, QUIESCE, OPEN, 1, QUIESCE, TRY],
    "detach_queued_runs_on": [LIMIT, 1] + sp(1, 1) + sp(2, 1) + sp(3, 0, 0, NEVER) + [QUIESCE, DETACH_KEY, 2, DETACH_KEY, 3, QUIESCE, RECREATE, OPEN_ALL, QUIESCE, HANDLE_ABORT, 2, TERMINAL, QUIESCE],
    "detach_with_key_join": sp(1, 1) + [QUIESCE, KEY_JOIN, 1, DETACH_KEY, 1, QUIESCE, OPEN_ALL, QUIESCE],
    "detached_graceful_not_asked": sp(1, 1, graceful=True) + sp(2, 1, graceful=True) + [QUIESCE, DETACH_KEY, 1, SHUTDOWN, G_FAR, QUIESCE, OPEN_ALL, QUIESCE],
    "graceful_requests": sp(1, 1, 0, THROW, graceful=True) + sp(2, 0, 0, NEVER, graceful=True) + sp(3, 2, 1, graceful=True) + sp(4, 0, 0, NEVER) + [QUIESCE, REQUEST, 1, 0, REQUEST, 2, 1, QUIESCE, TRY, TRY, REQUEST_MANY, 0, 0, QUIESCE, TRY, QUERIES, 4, ABORT, 4, QUIESCE, TRY],
    "graceful_request_before_start": sp(1, 1, graceful=True) + [REQUEST, 1, 0, QUIESCE, QUERIES, 1, HANDLE_ABORT, 0, PARTIAL, QUIESCE, TRY],
    "graceful_abort": sp(1, 1, graceful=True) + sp(2, 0, 0, NEVER, graceful=True) + [QUIESCE, ABORT, 1, HANDLE_ABORT, 1, TERMINAL, QUIESCE, TRY, TRY],
    "handle_abort_replaced": sp(1, 1) + sp(1, 1) + [QUIESCE, HANDLE_ABORT, 0, TERMINAL, HANDLE_ABORT, 1, TOTAL, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "shutdown_at_once": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 0) + sp(4, 1, graceful=True) + [STEP, 2, SHUTDOWN, G_NONE, QUIESCE, TRY, QUERIES, 1],
    "shutdown_grace_zero": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 0) + sp(4, 1, graceful=True) + [STEP, 2, SHUTDOWN, G_ZERO, QUIESCE, TRY],
    "shutdown_grace_negative": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 1, 1) + [QUIESCE, SHUTDOWN, G_NEGATIVE, QUIESCE, TRY],
    "shutdown_far_asks_then_cancel": sp(1, 1, graceful=True) + sp(2, 0, 0, NEVER, graceful=True) + sp(3, 0, 0, NEVER) + sp(4, 1) + sp(5, 1, 0, THROW, graceful=True) + [QUIESCE, SHUTDOWN, G_FAR, QUIESCE, QUERIES, 3, OPEN, 3, QUIESCE, CANCEL_SHUTDOWN, TERMINAL, QUIESCE, TRY, QUERIES, 3, ABORT, 3, QUIESCE, TRY],
    "shutdown_far_not_started": sp(1, 1) + sp(2, 1, graceful=True) + [STEP, 0, SHUTDOWN, G_FAR, QUIESCE, OPEN, 0, QUIESCE, TRY],
    "shutdown_short_passes": sp(1, 0, 0, NEVER) + sp(2, 1) + sp(3, 1, graceful=True) + sp(4, 0) + [QUIESCE, SHUTDOWN, G_SHORT, QUIESCE, PASS_GRACE, QUIESCE, TRY],
    "shutdown_short_with_queue_passes": [LIMIT, 2] + sp(1, 0, 0, NEVER) + sp(2, 1, graceful=True) + sp(3) + sp(4, 1) + [QUIESCE, QUEUED, SHUTDOWN, G_SHORT, QUIESCE, PASS_GRACE, TRY, QUEUED],
    "detach_before_short_grace": sp(1, 0, 0, NEVER) + sp(2, 0, 0, NEVER) + [QUIESCE, DETACH_KEY, 2, SHUTDOWN, G_SHORT, PASS_GRACE, QUIESCE, HANDLE_ABORT, 1, TERMINAL, QUIESCE],
    "shutdown_short_cancelled": sp(1, 0, 0, NEVER) + sp(2, 1) + [QUIESCE, SHUTDOWN, G_SHORT, CANCEL_SHUTDOWN, PARTIAL, QUIESCE, PASS_GRACE, QUIESCE, OPEN_ALL, QUIESCE, TRY, ABORT_ALL, QUIESCE, TRY],
    "shutdown_far_destroyed": sp(1, 0, 0, NEVER) + sp(2, 0, 0, NEVER, graceful=True) + sp(3, 1) + [QUIESCE, SHUTDOWN, G_FAR, RECREATE, QUIESCE] + sp(1) + [QUIESCE, TRY],
    "shutdown_short_destroyed": sp(1, 0, 0, NEVER) + sp(2, 1) + [QUIESCE, SHUTDOWN, G_SHORT, RECREATE, PASS_GRACE] + sp(2) + [QUIESCE, TRY],
    "shutdown_at_once_destroyed": sp(1, 0, 0, NEVER) + sp(2, 1) + [STEP, 0, SHUTDOWN, G_NONE, RECREATE, QUIESCE, TRY],
    "shutdown_beside_join": sp(1, 1) + sp(2, 0, 0, NEVER) + [QUIESCE, JOIN, SHUTDOWN, G_NONE, QUIESCE, TRY, TRY],
    "shutdown_far_beside_join": sp(1, 1, graceful=True) + sp(2, 0, 0, NEVER) + [QUIESCE, JOIN_WAIT, SHUTDOWN, G_FAR, QUIESCE, CANCEL, 0, QUIESCE, TRY, ABORT_ALL, QUIESCE, TRY],
    "shutdown_twice": sp(1, 1) + sp(2, 0, 0, NEVER) + [QUIESCE, SHUTDOWN, G_FAR, SHUTDOWN, G_ZERO, QUIESCE],
    "shutdown_then_spawn": sp(1, 1) + [QUIESCE, SHUTDOWN, G_FAR] + sp(2, 1, graceful=True) + [QUIESCE, OPEN_ALL, QUIESCE],
    "shutdown_with_queue": [LIMIT, 1] + sp(1, 0, 0, NEVER, graceful=True) + sp(2) + sp(3) + [QUIESCE, QUEUED, SHUTDOWN, G_FAR, QUEUED, QUIESCE],
    "shutdown_try_join_first": sp(1) + sp(2, 1) + [QUIESCE, SHUTDOWN, G_FAR, TRY, OPEN_ALL, QUIESCE],
    "shutdown_empty": [SHUTDOWN, G_SHORT, QUIESCE, SHUTDOWN, G_NONE, QUIESCE, PASS_GRACE],
    "shutdown_moved": sp(1, 1) + [QUIESCE, SHUTDOWN, G_FAR, MOVE, OPEN_ALL, QUIESCE],
    "shutdown_refuses_joins": sp(1, 1) + [QUIESCE, SHUTDOWN, G_FAR, JOIN, JOIN_WAIT, KEY_JOIN, 1, OPEN_ALL, QUIESCE],
    "shutdown_detach_all": sp(1, 1) + sp(2, 0, 0, NEVER) + [QUIESCE, SHUTDOWN, G_FAR, DETACH, QUIESCE, OPEN_ALL, QUIESCE, HANDLE_ABORT, 1, TERMINAL, QUIESCE],
    # Tasks finished, unjoined, when the short grace period starts: its timer
    # may fire before the shutdown takes them, and must leave them alone
    # (info(key).abort_requested stays false: it once marked them).
    "shutdown_short_finished_unjoined": sp(1) + sp(2, 0, 0, THROW) + [QUIESCE, SHUTDOWN, G_SHORT, PASS_GRACE, QUIESCE],
}

# Seeds of the counters (stats(), checked after every operation and handler,
# as info(key) and snapshot() are), in the extended alphabet: a replaced
# task counts as cancelled, even when its deadline had fired (it was then
# timed out, not yet ended); one that had finished keeps its count; a
# detached one is counted when detached and when it ends; tasks queued at
# once (peak_queued) and held at once (peak_size).
counters = {
    "stats_replaced_after_timeout": [DUE_SPAWN] + task(1, 1) + [STEP, 1] + sp(1) + [QUIESCE, TRY, QUERIES, 1],
    "stats_replaced_before_timeout": [DUE_SPAWN] + task(1, 1) + [STEP, 0] + sp(1) + [QUIESCE, TRY],
    "stats_replaced_finished": sp(1) + sp(2, 1, 0, THROW) + [QUIESCE] + sp(1, value=3) + sp(2) + [QUIESCE, TRY, OPEN_ALL, QUIESCE, TRY],
    "stats_detached_counted_twice": sp(1, 1) + sp(2) + sp(3, 0, 0, NEVER) + [QUIESCE, DETACH_KEY, 1, DETACH_KEY, 2, QUIESCE, OPEN_ALL, QUIESCE, DETACH, QUIESCE],
    "stats_peaks": [LIMIT, 2] + sp(1, 1) + sp(2, 1) + sp(3) + sp(4) + sp(5) + [QUEUED, ABORT, 4, QUEUED] + sp(3) + [QUEUED, OPEN_ALL, QUIESCE, TRY, TRY, TRY, TRY, TRY],
}

# Seeds of the fail-fast alphabet: async_join_all with joinery::fail_fast
# (the first failure, an exception or a timeout, aborts every other task in
# the map; a cancellation is none) and without; beside the other joins;
# cancelled before and after the first failure (the aborts stand); with a
# keyed join, the concurrency limit's queue, graceful tasks, detach; with the
# map destroyed before and after the first failure.
fail_fast = {
    "ff_exception_aborts_others": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 1, 0, THROW) + sp(4, 0) + [QUIESCE, JOIN_ALL, FF, OPEN, 2, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "ff_timeout_aborts_others": [DUE_SPAWN] + task(1, 0, 0, NEVER) + sp(2, 0, 0, NEVER) + sp(3, 1) + [JOIN_ALL, FF, QUIESCE, TRY],
    "ff_cancelled_is_no_failure": sp(1, 1) + sp(2, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, FF, ABORT, 2, QUIESCE, OPEN, 0, QUIESCE],
    "ff_plain_keeps_all": sp(1, 1, 0, THROW) + sp(2, 1) + sp(3, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, PLAIN, OPEN, 0, QUIESCE, OPEN, 1, QUIESCE, ABORT, 3, QUIESCE],
    "ff_cancel_before_failure": sp(1, 0) + sp(2, 1, 0, THROW) + sp(3, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, FF, STEP, 1, CANCEL_ALL, TERMINAL, OPEN_ALL, QUIESCE, TRY, TRY, ABORT_ALL, QUIESCE, TRY],
    "ff_cancel_after_failure": sp(1, 1, 0, THROW) + sp(2, 0, 0, NEVER) + sp(3, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, FF, OPEN, 0, STEP, 2, CANCEL_ALL, PARTIAL, QUIESCE, TRY, TRY, TRY],
    "ff_with_keyed_join": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 1, 0, THROW) + [QUIESCE, KEY_JOIN, 1, JOIN_ALL, FF, OPEN, 2, QUIESCE],
    "ff_keyed_join_cancelled": sp(1, 1) + sp(2, 1) + [QUIESCE, KEY_JOIN, 1, JOIN_ALL, FF, OPEN, 0, STEP, 0, CANCEL_KEY, 0, TOTAL, QUIESCE, OPEN_ALL, QUIESCE],
    "ff_refuses_and_is_refused": sp(1, 1) + [QUIESCE, JOIN_ALL, FF, JOIN, JOIN_WAIT, SHUTDOWN, G_NONE, JOIN_ALL, PLAIN, CANCEL_ALL, TOTAL, QUIESCE, JOIN, JOIN_ALL, FF, CANCEL, 0, QUIESCE, SHUTDOWN, G_FAR, JOIN_ALL, FF, QUIESCE, OPEN_ALL, QUIESCE],
    "ff_queued_aborted": [LIMIT, 1] + sp(1, 1, 0, THROW) + sp(2) + sp(3, 0, 0, NEVER) + [JOIN_ALL, FF, QUEUED, OPEN, 0, QUIESCE, QUEUED],
    "ff_spawn_after_failure": sp(1, 1, 0, THROW) + sp(2, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, FF, OPEN, 0, STEP, 2] + sp(3, 1) + sp(4, 0, 0, THROW) + [QUIESCE, OPEN_ALL, QUIESCE],
    "ff_due_maybe": [DUE_SPAWN] + task(1, 0) + [DUE_SPAWN] + task(2, 0, 0, THROW) + sp(3, 0, 0, NEVER) + sp(4, 1) + [JOIN_ALL, FF, QUIESCE, OPEN_ALL, ABORT_ALL, QUIESCE],
    "ff_graceful_aborted": sp(1, 1, graceful=True) + sp(2, 0, 0, NEVER, graceful=True) + sp(3, 1, 0, THROW) + [QUIESCE, REQUEST, 1, 1, JOIN_ALL, FF, OPEN, 2, QUIESCE],
    "ff_detach_all": sp(1, 1) + sp(2, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, FF, DETACH, QUIESCE, OPEN_ALL, QUIESCE, HANDLE_ABORT, 1, TERMINAL, QUIESCE],
    "ff_detach_after_failure": sp(1, 1, 0, THROW) + sp(2, 0, 0, NEVER) + sp(3, 1) + [QUIESCE, JOIN_ALL, FF, OPEN, 0, STEP, 1, DETACH_KEY, 3, QUIESCE, OPEN_ALL, QUIESCE],
    "ff_try_join_beside": sp(1) + sp(2, 1) + [QUIESCE, JOIN_ALL, FF, TRY, QUIESCE, QUERIES, 2, OPEN_ALL, QUIESCE],
    "ff_empty": [JOIN_ALL, FF, QUIESCE, JOIN_ALL, PLAIN, CANCEL_ALL, PARTIAL, QUIESCE] + sp(1) + [JOIN_ALL, FF, CANCEL_ALL, TERMINAL, QUIESCE, TRY],
    "ff_moved": sp(1, 1, 0, THROW) + sp(2, 0, 0, NEVER) + [QUIESCE, JOIN_ALL, FF, MOVE, OPEN_ALL, QUIESCE],
    "ff_destroyed_before_failure": sp(1, 1) + sp(2, 0, 0, NEVER) + sp(3, 1, 0, THROW) + [QUIESCE, JOIN_ALL, FF, RECREATE, QUIESCE, OPEN_ALL, QUIESCE] + sp(1) + [JOIN_ALL, FF, QUIESCE],
    "ff_destroyed_after_failure": sp(1, 0, 0, NEVER) + sp(2, 0, 0, NEVER) + sp(3, 1, 0, THROW) + sp(4, 0, 0, NEVER) + [QUIESCE, DETACH_KEY, 4, JOIN_ALL, FF, OPEN, 2, STEP, 2, RECREATE, QUIESCE, OPEN_ALL, QUIESCE, TRY, HANDLE_ABORT, 3, TERMINAL, QUIESCE],
    "ff_io_death_pending": sp(1, 0, 0, NEVER) + sp(2, 1, 0, THROW) + [QUIESCE, JOIN_ALL, FF, STEP, 1],
}

# Contract violations this model found (fixed since): regression inputs.
findings = {
    # async_shutdown() completed with success while the map still held a task
    # a keyed join waits for (aborted, not yet ended).
    "shutdown_beside_keyed_join": sp(1, 0, 0, NEVER) + [QUIESCE, KEY_JOIN, 1, SHUTDOWN, G_NONE, QUIESCE],
    # A task detached during async_shutdown(grace) was aborted when the grace ended.
    "detach_during_grace": sp(1, 0, 0, NEVER) + sp(2, 0, 0, NEVER) + [QUIESCE, SHUTDOWN, G_SHORT, DETACH_KEY, 2, PASS_GRACE, QUIESCE],
}

fuzz_dir = os.path.dirname(os.path.abspath(__file__))
here = os.path.join(fuzz_dir, "corpus")
os.makedirs(here, exist_ok=True)
# Each table's first byte selects the harness's key type (u8 or string) and
# its alphabet: 0/1 the first, 2/3 the extended and the counters', 6/7 the
# shutdown's, 8/9 the fail-fast one.
for table, (u8, string) in ((seeds, (0, 1)), (extended, (2, 3)), (shutdown, (6, 7)),
                            (counters, (2, 3)), (fail_fast, (8, 9))):
    for name, ops in table.items():
        for variant, suffix in ((u8, "u8"), (string, "str")):
            with open(os.path.join(here, f"{name}_{suffix}"), "wb") as f:
                f.write(bytes([variant] + ops))
print(f"wrote {2 * (len(seeds) + len(extended) + len(shutdown) + len(counters) + len(fail_fast))} seeds to {here}")
for name, ops in findings.items():
    with open(os.path.join(here, f"found_{name}"), "wb") as f:
        f.write(bytes([6] + ops))
print(f"wrote {len(findings)} regression inputs to {here}")
