/* SPDX-License-Identifier: MIT */
/*
 * Who holds which VF: one state file per pool, <state_dir>/<pool>.state,
 * shared by the CLI and the hook.
 *
 * Every change happens under an exclusive flock on <state_dir>/<pool>.lock
 * and is written atomically (temp file, fsync, rename). The directory is
 * 0700, files 0600, opened with O_NOFOLLOW. A state file that cannot be
 * parsed is an error, never silently reset: esfm must not lose track of a VF.
 */
#ifndef ESFM_STATE_H
#define ESFM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "err.h"
#include "pci.h"
#include "pool.h"
#include "sizes.h"

enum esfm_vf_state {
	ESFM_VF_FREE = 0,
	ESFM_VF_RESERVED, /* the hook picked it at prepare; not yet in the guest */
	ESFM_VF_ATTACHED, /* in the guest (live, or in its persistent config for the CLI) */
	ESFM_VF_PAUSED,	  /* held by a guest through a device_pause during reconf */
};

enum esfm_vf_origin {
	ESFM_ORIGIN_NONE = 0,
	ESFM_ORIGIN_HOOK, /* lent for one run of the domain, returned at release */
	ESFM_ORIGIN_CLI,  /* assigned by the operator, persists across domain runs */
};

struct esfm_vf_slot {
	unsigned index;
	struct esfm_pci_addr addr;
	enum esfm_vf_state state;
	enum esfm_vf_origin origin;
	char uuid[ESFM_UUID_STRLEN];	  /* owner, "" when free */
	char name[ESFM_DOM_NAME_MAX];	  /* owner's name, for messages */
	char alias[ESFM_ALIAS_MAX];	  /* hostdev alias in the guest */
	char last_uuid[ESFM_UUID_STRLEN]; /* last owner: gets the same VF back if free */
	long long since;		  /* time of the last change (epoch seconds) */
	/*
	 * A reservation whose domain reached `started`: the attach worker started
	 * for it (pid and process start time; 0: none yet). Cleared when the slot
	 * leaves `reserved`. A reservation whose worker is gone is not in flight.
	 */
	long worker_pid;
	unsigned long long worker_start;
};

/*
 * A long CLI operation in progress on the pool (no lock held meanwhile):
 * prepare refuses while it lives, reconcile changes nothing. A mark whose
 * process is gone (pid dead, or reused: another start time) is recovered.
 */
struct esfm_busy_mark {
	long pid;		  /* 0: not busy */
	unsigned long long start; /* the process's start time (see esfm_proc_start_time) */
	char what[128];		  /* e.g. "esfm reconf 3" */
	long long since;	  /* epoch seconds */
};

/*
 * The journal of a change in progress (reconf, init): written before each
 * step that takes a device from a guest, removes the PF from the bus or
 * changes sriov_numvfs, so that after a crash the next command can give the
 * guests their devices back (see ops_gc.c: recover).
 */
struct esfm_journal_taken {
	unsigned index;
	bool paused; /* device_pause'd in the guest; else hot-unplugged */
	char uuid[ESFM_UUID_STRLEN];
	char vm[ESFM_DOM_NAME_MAX];
	char alias[ESFM_ALIAS_MAX];
};

struct esfm_journal {
	bool active;
	unsigned old_count, new_count;
	bool numvfs;	 /* the VF count is being changed (through 0) */
	bool pf_removed; /* the PF is (or was) removed from the bus for flashing */
	size_t ntaken;
	struct esfm_journal_taken *taken;
};

struct esfm_ledger_source;

struct esfm_pool_state {
	char pool[ESFM_NAME_MAX];
	struct esfm_pci_addr pf;
	unsigned long generation; /* bumped by every save */
	char bitstream[PATH_MAX]; /* last bitstream flashed on the PF, "" if none */
	char bitstream_kind[ESFM_BITSTREAM_KIND_MAX];
	long long flashed_at; /* epoch seconds */
	size_t nvfs;
	struct esfm_vf_slot *vfs; /* vfs[i].index == i */
	struct esfm_busy_mark busy;
	struct esfm_journal journal;
	/*
	 * The file this state was loaded from (state.c), owned: a save writes
	 * the <vf> of a slot that did not change as it was read, without
	 * serialising it again. NULL when the state was not loaded from a file.
	 */
	struct esfm_ledger_source *source;
};

struct esfm_state_lock {
	int fd;
	char pool[ESFM_NAME_MAX];
};

const char *esfm_vf_state_name(enum esfm_vf_state s);
const char *esfm_vf_origin_name(enum esfm_vf_origin o);

/*
 * Create the state directory (0700) if missing and refuse one that is a
 * symlink, not a directory, owned by someone other than root (or the
 * effective user), or writable by group or others. Every state and lock file
 * is then opened relative to it (openat, O_NOFOLLOW, regular files only).
 */
int esfm_state_dir_ensure(const char *state_dir, struct esfm_err *err);

/*
 * Take the pool's lock, waiting at most @timeout_ms (0: try once). @who
 * (e.g. "esfm reconf") is recorded in the lock file so a waiter can say who
 * holds it. BUSY error on timeout naming the holder.
 */
int esfm_state_lock(const char *state_dir, const char *pool, const char *who, long timeout_ms,
		    struct esfm_state_lock *lock, struct esfm_err *err);
void esfm_state_unlock(struct esfm_state_lock *lock);

/* Load; a missing file gives an empty state for @pool. Caller frees with esfm_state_clear. */
int esfm_state_load(const char *state_dir, const char *pool, struct esfm_pool_state *st,
		    struct esfm_err *err);

/* Parse the text of a state file (@path names it in errors) for @pool. */
int esfm_state_parse(const char *text, size_t len, const char *path, const char *pool,
		     struct esfm_pool_state *st, struct esfm_err *err);

/* Save atomically (caller holds the lock); bumps the generation. */
int esfm_state_save(const char *state_dir, struct esfm_pool_state *st, struct esfm_err *err);

void esfm_state_clear(struct esfm_pool_state *st);

/* Append a device taken from a guest to the journal. -1 (ENOMEM) on failure. */
int esfm_journal_add(struct esfm_journal *j, const struct esfm_journal_taken *t,
		     struct esfm_err *err);

/* Forget the journal (the change finished or was undone). */
void esfm_journal_clear(struct esfm_journal *j);

/*
 * Make slots 0..n-1 exist (new ones free). Slots beyond n are dropped only if
 * free: returns BUSY naming the holder otherwise.
 */
int esfm_state_resize(struct esfm_pool_state *st, size_t n, struct esfm_err *err);

/* Mark a slot: free clears owner, alias and worker, and remembers the last owner. */
void esfm_state_set_free(struct esfm_vf_slot *s);
/* A new owner: no attach worker recorded yet. */
void esfm_state_set_owner(struct esfm_vf_slot *s, enum esfm_vf_state state,
			  enum esfm_vf_origin origin, const char *uuid, const char *name,
			  const char *alias);

/* Number of slots in a state other than free. */
size_t esfm_state_count_used(const struct esfm_pool_state *st);

#endif
