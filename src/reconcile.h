/* SPDX-License-Identifier: MIT */
/*
 * Reconcile: make a pool's ledger (the state file) agree with reality, as a
 * pure function of what was observed. Which VFs exist comes from sysfs,
 * which domain holds which VF from libvirt (live and persistent XML, matched
 * on the hostdev's source address, never on its alias alone). The ledger
 * keeps what reality cannot show: reservations of domains that are starting,
 * CLI assignments of stopped domains, the last holder of a VF.
 *
 * What reality cannot tell is never guessed: a VF recorded for a domain
 * whose XML libvirt failed to give (any error but "no such domain") is left
 * alone and reported, and with no domain list at all nothing is freed.
 * Nothing is changed while a live operation has the pool marked busy (it is
 * taking devices away and giving them back: what libvirt shows is in flux).
 */
#ifndef ESFM_RECONCILE_H
#define ESFM_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "domxml.h"
#include "err.h"
#include "pci.h"
#include "state.h"

/* One VF of the pool's PF that a domain's XML names (by source address). */
struct esfm_rc_hold {
	unsigned index;
	bool live;   /* in the running domain's live XML */
	bool config; /* in its persistent XML */
	char alias[ESFM_ALIAS_MAX];
};

struct esfm_rc_domain {
	char uuid[ESFM_UUID_STRLEN];
	char name[ESFM_DOM_NAME_MAX];
	bool readable; /* false: libvirt failed to give its state or XML: unknown */
	bool running;  /* active (running, paused, or starting) */
	size_t nhold;
	struct esfm_rc_hold hold[ESFM_MAX_VFS_PER_VM];
};

struct esfm_rc_facts {
	/* sysfs: VFs 0..nexist-1 exist, at addr[i]; sysfs_known false: not read */
	bool sysfs_known;
	size_t nexist;
	const struct esfm_pci_addr *addr;
	/*
	 * libvirt: every domain (libvirt_known: the list was read, so a UUID
	 * absent from it does not exist).
	 */
	bool libvirt_known;
	const struct esfm_rc_domain *doms;
	size_t ndoms;
	/*
	 * Only judge what concerns this domain (reconnect: the hook sees its own
	 * domain only; every other recorded holder is unknown and left alone).
	 */
	const char *only_uuid;
	/* Whether the pool's busy mark names a live operation. */
	bool busy_live;
	/*
	 * worker_gone[i]: the attach worker recorded on slot i (worker_pid) has
	 * ended. NULL, or i >= nworker: not known, the reservation is kept.
	 */
	const bool *worker_gone;
	size_t nworker;
};

enum esfm_rc_kind {
	ESFM_RC_FREED,	   /* the recorded holder does not hold it (or its attach died): freed */
	ESFM_RC_ADOPTED,   /* a domain holds it live, the ledger did not say so: recorded */
	ESFM_RC_UNKNOWN,   /* libvirt could not tell: left alone */
	ESFM_RC_CONFLICT,  /* two domains hold it live: left with the first, reported */
	ESFM_RC_BUSY,	   /* a live operation has the pool: nothing changed */
	ESFM_RC_RECOVERED, /* a dead operation's busy mark was cleared */
};

struct esfm_rc_finding {
	enum esfm_rc_kind kind;
	unsigned index;
	char text[600]; /* one line, starting with "pool '<name>': " */
};

struct esfm_rc_findings {
	struct esfm_rc_finding *item;
	size_t n;
	bool changed; /* the ledger was changed: save it */
};

/*
 * Correct @st in place from @facts and append what was done or found to
 * @out (free with esfm_rc_findings_free). A dead busy mark (busy set in @st,
 * !facts->busy_live) is cleared. Only error: out of memory.
 */
int esfm_reconcile(struct esfm_pool_state *st, const struct esfm_rc_facts *facts,
		   struct esfm_rc_findings *out, struct esfm_err *err);

void esfm_rc_findings_free(struct esfm_rc_findings *f);

/* How many findings of @kind. */
size_t esfm_rc_count(const struct esfm_rc_findings *f, enum esfm_rc_kind kind);

/*
 * esfm's identity channels (hostdev.h) in one domain's live or persistent XML
 * @x, held against its esfm hostdevs of @pool (matched on the aliases esfm
 * gives both): a channel whose VF the domain does not hold is to be removed
 * (add false: it would name a VF the guest lacks); with @add_missing, an esfm
 * hostdev without its channel gets one (add true), if the domain has a
 * virtio-serial controller to put it on. At most @max fixes go to @out;
 * returns how many.
 */
struct esfm_identity_fix {
	unsigned index;
	bool add;
};

size_t esfm_reconcile_identities(const struct esfm_domain *x, const char *pool, bool add_missing,
				 struct esfm_identity_fix *out, size_t max);

#endif
