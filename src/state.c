// SPDX-License-Identifier: MIT
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include "log.h"
#include "util.h"
#include "xmlutil.h"

static const char *const state_names[] = {"free", "reserved", "attached", "paused"};
static const char *const origin_names[] = {"", "hook", "cli"};

const char *esfm_vf_state_name(enum esfm_vf_state s)
{
	return (unsigned)s < ESFM_ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

const char *esfm_vf_origin_name(enum esfm_vf_origin o)
{
	return (unsigned)o < ESFM_ARRAY_SIZE(origin_names) ? origin_names[o] : "?";
}

/*
 * Whoever can write the state directory can forge who holds which VF: it
 * must belong to root (or to the user running esfm) and be writable by no
 * one else. Returns an fd of the directory, or -1 with @err filled.
 */
static int state_dir_open(const char *state_dir, bool create, struct esfm_err *err)
{
	struct stat st;
	int fd;

	if (create && mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return esfm_err_sys(err, errno, "cannot create state directory %s", state_dir);
	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, ENOTDIR, "state directory %s is not a directory",
			     state_dir);
		return esfm_err_hint(err, "remove it or set state_dir in esfm.conf");
	}
	if (fd < 0)
		return esfm_err_sys(err, errno, "cannot open state directory %s", state_dir);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return esfm_err_sys(err, e, "cannot stat state directory %s", state_dir);
	}
	if (!esfm_dir_is_private(&st)) {
		close(fd);
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "state directory %s is unsafe: owner uid %u, mode %04o", state_dir,
			     (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return esfm_err_hint(err, "make it root's, not writable by group or others "
					  "(chown root: and chmod 0700), or set state_dir in "
					  "esfm.conf");
	}
	return fd;
}

int esfm_state_dir_ensure(const char *state_dir, struct esfm_err *err)
{
	int fd = state_dir_open(state_dir, true, err);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int state_path(const char *dir, const char *pool, const char *ext, char *buf, size_t len,
		      struct esfm_err *err)
{
	if (!esfm_name_valid(pool))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "invalid pool name '%.80s'", pool);
	return esfm_snprintf(buf, len, err, "%s/%s.%s", dir, pool, ext);
}

static void read_holder(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void write_holder(int fd, const char *who)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s (pid %ld)\n", who, (long)getpid());

	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!pwrite(fd, buf, (size_t)n, 0);
}

int esfm_state_lock(const char *state_dir, const char *pool, const char *who, long timeout_ms,
		    struct esfm_state_lock *lock, struct esfm_err *err)
{
	long long deadline = esfm_now_ms() + timeout_ms;
	char path[PATH_MAX], holder[256];
	_cleanup_close_ int dfd = -1;
	int fd;

	lock->fd = -1;
	if (state_path(state_dir, pool, "lock", path, sizeof(path), err) < 0 ||
	    (dfd = state_dir_open(state_dir, true, err)) < 0)
		return -1;
	fd = esfm_open_regular_at(dfd, strrchr(path, '/') + 1, path, O_RDWR | O_CREAT, err);
	if (fd < 0)
		return esfm_err_prefix(err, "lock file");
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			return esfm_err_sys(err, e, "cannot lock %s", path);
		}
		if (esfm_now_ms() >= deadline) {
			read_holder(fd, holder, sizeof(holder));
			close(fd);
			if (holder[0])
				esfm_err_set(err, ESFM_ERR_BUSY, 0, "pool '%s' is in use by %s",
					     pool, holder);
			else
				esfm_err_set(err, ESFM_ERR_BUSY, 0,
					     "pool '%s' is in use by another esfm command", pool);
			return esfm_err_hint(err, "try again when it is done");
		}
		esfm_sleep_ms(20);
	}
	write_holder(fd, who);
	lock->fd = fd;
	snprintf(lock->pool, sizeof(lock->pool), "%s", pool);
	return 0;
}

void esfm_state_unlock(struct esfm_state_lock *lock)
{
	if (lock->fd < 0)
		return;
	if (ftruncate(lock->fd, 0) < 0)
		esfm_debug("cannot clear lock holder of pool '%s'", lock->pool);
	flock(lock->fd, LOCK_UN);
	close(lock->fd);
	lock->fd = -1;
}

/*
 * Where a <vf> element lies in the text a state was loaded from (len 0:
 * nowhere usable), and where the slot read from it is kept, packed.
 */
struct ledger_span {
	size_t off, len;
	size_t packed_off, packed_len;
};

struct esfm_ledger_source {
	char *text;
	size_t nslots;
	struct ledger_span *span; /* [nslots] */
	char *packed;		  /* the slots as read, one slot_pack after the other */
};

static void source_free(struct esfm_ledger_source *src)
{
	if (!src)
		return;
	free(src->text);
	free(src->span);
	free(src->packed);
	free(src);
}

/*
 * Every field of a slot, its strings without what follows their NUL: two
 * slots are equal when their packs are. A copy of each slot as read takes
 * four times the memory, which a prepare pays in page faults.
 */
#define SLOT_PACK_MAX (sizeof(struct esfm_vf_slot) + 4)
_Static_assert(sizeof(struct esfm_vf_slot) == 472 || sizeof(void *) != 8,
	       "a field added to struct esfm_vf_slot must be added to slot_pack");

static size_t pack_str(char *at, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	memcpy(at, s, n);
	at[n] = '\0';
	return n + 1;
}

static size_t slot_pack(const struct esfm_vf_slot *s, char *buf)
{
	size_t n = 0;

#define PACK(field) (memcpy(buf + n, &s->field, sizeof(s->field)), n += sizeof(s->field))
	PACK(index);
	PACK(addr.domain); /* field by field: the struct's padding is no content */
	PACK(addr.bus);
	PACK(addr.dev);
	PACK(addr.fn);
	PACK(state);
	PACK(origin);
	PACK(since);
	PACK(worker_pid);
	PACK(worker_start);
#undef PACK
	n += pack_str(buf + n, s->uuid, sizeof(s->uuid));
	n += pack_str(buf + n, s->name, sizeof(s->name));
	n += pack_str(buf + n, s->alias, sizeof(s->alias));
	n += pack_str(buf + n, s->last_uuid, sizeof(s->last_uuid));
	return n;
}

void esfm_state_clear(struct esfm_pool_state *st)
{
	free(st->vfs);
	free(st->journal.taken);
	source_free(st->source);
	memset(st, 0, sizeof(*st));
}

int esfm_journal_add(struct esfm_journal *j, const struct esfm_journal_taken *t,
		     struct esfm_err *err)
{
	struct esfm_journal_taken *n = realloc(j->taken, (j->ntaken + 1) * sizeof(*n));

	if (!n)
		return esfm_err_sys(err, ENOMEM, "cannot grow the journal");
	j->taken = n;
	j->taken[j->ntaken++] = *t;
	return 0;
}

void esfm_journal_clear(struct esfm_journal *j)
{
	free(j->taken);
	memset(j, 0, sizeof(*j));
}

static enum esfm_vf_state parse_state_name(const char *s, bool *ok)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(state_names); i++)
		if (!strcmp(s, state_names[i])) {
			*ok = true;
			return (enum esfm_vf_state)i;
		}
	*ok = false;
	return ESFM_VF_FREE;
}

static enum esfm_vf_origin parse_origin_name(const char *s)
{
	for (size_t i = 1; i < ESFM_ARRAY_SIZE(origin_names); i++)
		if (!strcmp(s, origin_names[i]))
			return (enum esfm_vf_origin)i;
	return ESFM_ORIGIN_NONE;
}

/*
 * The ledger is read as a stream (SAX2), not into a tree: at every prepare a
 * tree of some 2,000 attribute nodes was built for one pass over it. An
 * element is seen once, at its start tag, with its attributes.
 */
/* Every attribute name of the ledger, in any element (attr_names spells them). */
enum attr {
	A_INDEX,
	A_ADDRESS,
	A_STATE,
	A_ORIGIN,
	A_UUID,
	A_NAME,
	A_ALIAS,
	A_LAST_UUID,
	A_SINCE,
	A_WORKER_PID,
	A_WORKER_START,
	A_PF,
	A_GENERATION,
	A_VERSION,
	A_PATH,
	A_KIND,
	A_FLASHED_AT,
	A_PID,
	A_START,
	A_WHAT,
	A_OLD,
	A_NEW,
	A_NUMVFS,
	A_HOW,
	A_VM,
	A_COUNT
};

static const char *const attr_names[A_COUNT] = {
	"index",     "address", "state",      "origin",	      "uuid",  "name",	     "alias",
	"last-uuid", "since",	"worker-pid", "worker-start", "pf",    "generation", "version",
	"path",	     "kind",	"flashed-at", "pid",	      "start", "what",	     "old",
	"new",	     "numvfs",	"how",	      "vm",
};

/* The index of @name in attr_names, or -1. */
static int attr_id(const char *name)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(attr_names); i++)
		if (attr_names[i][0] == name[0] && !strcmp(attr_names[i], name))
			return (int)i;
	return -1;
}

/*
 * An element's attributes are sorted out once, when it starts: looking each
 * name up among all of them took a third of the time of reading a ledger.
 */
struct element {
	const xmlChar **attrs; /* as startElementNs hands them: 5 pointers each */
	int nattrs;
	long line;
	int at[A_COUNT]; /* where each known name is in attrs; -1: absent */
};

static void element_init(struct element *el, const xmlChar **attrs, int nattrs, long line)
{
	el->attrs = attrs;
	el->nattrs = nattrs;
	el->line = line;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(el->at); i++)
		el->at[i] = -1;
	for (int i = 0; i < nattrs; i++) {
		const char *name = esfm_xml_sax_name(attrs + 5 * i);
		int id = name ? attr_id(name) : -1;

		/* The first of a name, as esfm_xml_sax_attr reads it. */
		if (id >= 0 && el->at[id] < 0)
			el->at[id] = i;
	}
}

/* The attribute @id of @el, as esfm_xml_sax_attr: 1 present, 0 absent, -1 too long. */
static int prop(const struct element *el, enum attr id, char *buf, size_t len)
{
	buf[0] = '\0';
	return el->at[id] < 0 ? 0 : esfm_xml_sax_value(el->attrs + 5 * el->at[id], buf, len);
}

static int parse_slot(const struct element *n, struct esfm_vf_slot *s, const char *path,
		      struct esfm_err *err)
{
	char v[128], state[32];
	unsigned idx;
	char *end;
	bool ok;

	memset(s, 0, sizeof(*s));
	prop(n, A_INDEX, v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &idx))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid vf index '%s'", path,
				    n->line, v);
	s->index = idx;
	prop(n, A_ADDRESS, v, sizeof(v));
	if (esfm_pci_addr_parse(v, &s->addr, err) < 0)
		return esfm_err_prefix(err, "%s:%ld", path, n->line);
	prop(n, A_STATE, state, sizeof(state));
	s->state = parse_state_name(state, &ok);
	if (!ok)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid vf state '%s'", path,
				    n->line, state);
	if (prop(n, A_ORIGIN, v, sizeof(v)) != 0) {
		s->origin = parse_origin_name(v);
		if (s->origin == ESFM_ORIGIN_NONE)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: invalid vf origin '%s'", path, n->line, v);
	}
	prop(n, A_UUID, s->uuid, sizeof(s->uuid));
	prop(n, A_NAME, s->name, sizeof(s->name));
	prop(n, A_ALIAS, s->alias, sizeof(s->alias));
	prop(n, A_LAST_UUID, s->last_uuid, sizeof(s->last_uuid));
	if (prop(n, A_SINCE, v, sizeof(v)) != 0) {
		errno = 0;
		s->since = strtoll(v, &end, 10);
		if (errno || end == v || *end || s->since < 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid since '%s'",
					    path, n->line, v);
	}
	if (prop(n, A_WORKER_PID, v, sizeof(v)) != 0) {
		errno = 0;
		s->worker_pid = strtol(v, &end, 10);
		if (errno || end == v || *end || s->worker_pid <= 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: invalid worker-pid '%s'", path, n->line, v);
		prop(n, A_WORKER_START, v, sizeof(v));
		s->worker_start = strtoull(v, NULL, 10);
	}
	if (s->state != ESFM_VF_FREE && !s->uuid[0])
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: vf %u is %s but has no owner",
				    path, n->line, idx, state);
	return 0;
}

static int parse_busy(const struct element *n, const char *path, struct esfm_busy_mark *b,
		      struct esfm_err *err)
{
	char v[64], *end;

	prop(n, A_PID, v, sizeof(v));
	errno = 0;
	b->pid = strtol(v, &end, 10);
	if (errno || end == v || *end || b->pid <= 0)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid busy pid '%s'", path,
				    n->line, v);
	prop(n, A_START, v, sizeof(v));
	b->start = strtoull(v, NULL, 10);
	prop(n, A_SINCE, v, sizeof(v));
	b->since = strtoll(v, NULL, 10);
	prop(n, A_WHAT, b->what, sizeof(b->what));
	return 0;
}

static int parse_journal(const struct element *n, const char *path, struct esfm_journal *j,
			 struct esfm_err *err)
{
	char v[64];

	j->active = true;
	prop(n, A_OLD, v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &j->old_count))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid journal old '%s'",
				    path, n->line, v);
	prop(n, A_NEW, v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &j->new_count))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid journal new '%s'",
				    path, n->line, v);
	prop(n, A_NUMVFS, v, sizeof(v));
	j->numvfs = !strcmp(v, "changing");
	prop(n, A_PF, v, sizeof(v));
	j->pf_removed = !strcmp(v, "removed");
	return 0;
}

static int parse_taken(const struct element *c, const char *path, struct esfm_journal *j,
		       struct esfm_err *err)
{
	struct esfm_journal_taken t = {0};
	char v[64];

	prop(c, A_INDEX, v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &t.index))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid journal index '%s'",
				    path, c->line, v);
	prop(c, A_HOW, v, sizeof(v));
	t.paused = !strcmp(v, "paused");
	prop(c, A_UUID, t.uuid, sizeof(t.uuid));
	prop(c, A_VM, t.vm, sizeof(t.vm));
	prop(c, A_ALIAS, t.alias, sizeof(t.alias));
	return esfm_journal_add(j, &t, err);
}

static int parse_root(const struct element *root, const char *path, struct esfm_pool_state *st,
		      struct esfm_err *err)
{
	char v[64];

	prop(root, A_PF, v, sizeof(v));
	if (esfm_pci_addr_parse(v, &st->pf, err) < 0)
		return esfm_err_prefix(err, "%s", path);
	if (prop(root, A_GENERATION, v, sizeof(v)) != 0) {
		char *end;

		errno = 0;
		st->generation = strtoul(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-')
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: invalid generation '%s'",
					    path, v);
	}
	return 0;
}

/*
 * The damage reported is the one a reader of the whole file would name
 * first: the root's, then the busy mark's, the journal's, then the first bad
 * vf. A well-formedness error anywhere wins over all of them.
 */
enum damage_rank { DAMAGE_ROOT, DAMAGE_BUSY, DAMAGE_JOURNAL, DAMAGE_VF, DAMAGE_NONE };

struct ledger_reader {
	struct esfm_xml_sax sax; /* first: the parser's _private points here */
	const char *path;
	const char *text; /* the text parsed, when the spans of its <vf> are wanted */
	size_t len;
	struct ledger_span *span; /* [cap]: where each slot's element lies in @text */
	struct esfm_pool_state *st;
	int depth;    /* elements open */
	bool foreign; /* the root is not <esfm-state> */
	bool seen_bitstream, seen_busy, seen_journal;
	int journal_depth; /* depth of the first <journal> while it is open, else 0 */
	size_t cap;	   /* slots allocated in st->vfs */
	size_t first_cap;  /* the first allocation: as many as the text has <vf */
	enum damage_rank rank;
	struct esfm_err damage;
};

static void damaged(struct ledger_reader *r, enum damage_rank rank, const struct esfm_err *err)
{
	if (rank < r->rank) {
		r->rank = rank;
		r->damage = *err;
	}
}

static int add_slot(struct ledger_reader *r, const struct element *el, struct esfm_err *err)
{
	struct esfm_pool_state *st = r->st;
	size_t n = st->nvfs;

	if (n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : r->first_cap;
		struct esfm_vf_slot *v = realloc(st->vfs, cap * sizeof(*v));

		if (!v)
			return esfm_err_sys(err, ENOMEM, "cannot load %s", r->path);
		st->vfs = v;
		if (r->text) {
			struct ledger_span *sp = realloc(r->span, cap * sizeof(*sp));

			if (!sp)
				return esfm_err_sys(err, ENOMEM, "cannot load %s", r->path);
			r->span = sp;
		}
		r->cap = cap;
	}
	st->nvfs++;
	if (parse_slot(el, &st->vfs[n], r->path, err) < 0)
		return -1;
	if (st->vfs[n].index != n)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "%s: vf entries out of order (index %u at position %zu)",
				    r->path, st->vfs[n].index, n);
	return 0;
}

/*
 * Where the <vf> element whose start tag the parser has just read lies in the
 * text: "<vf .../>" alone, so that its bytes mean the same anywhere in a
 * ledger. An element with content, in a namespace, with a prefixed attribute
 * or declaring one has no span (len 0): it is serialised anew when saved.
 */
static struct ledger_span vf_span(const struct ledger_reader *r, void *ctx, bool namespaced,
				  const xmlChar **attrs, int nattrs)
{
	struct ledger_span none = {.len = 0};
	long at = esfm_xml_sax_offset(ctx);
	const char *open;

	if (namespaced)
		return none;
	for (int i = 0; i < nattrs; i++)
		if (attrs[5 * i + 1])
			return none;
	/* At the start tag's end; no '<' can appear inside a start tag. */
	if (at < 0 || (size_t)at + 2 > r->len || memcmp(r->text + at, "/>", 2))
		return none;
	open = memrchr(r->text, '<', (size_t)at);
	if (!open || strncmp(open, "<vf", 3) || !open[3] || !strchr(" \t\r\n/", open[3]))
		return none;
	return (struct ledger_span){.off = (size_t)(open - r->text),
				    .len = (size_t)(r->text + at + 2 - open)};
}

static void ledger_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			 const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
			 int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct ledger_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
	struct element el;
	/* An unbound prefix: libxml2's tree names it "prefix:name", which is no name we read. */
	const char *name = prefix && !uri ? "" : (const char *)localname;
	int depth = r->depth++;
	struct esfm_err err; /* filled by whatever fails; read only then */
	char v[64];

	(void)nb_namespaces;
	(void)namespaces;
	(void)nb_defaulted; /* none: there is no DTD */
	if (r->foreign)
		return;
	element_init(&el, attributes, nb_attributes, esfm_xml_sax_line(ctx));
	if (depth == 0) {
		if (strcmp(name, "esfm-state")) {
			r->foreign = true;
			esfm_err_set(&err, ESFM_ERR_CONFIG, 0, "%s: not an esfm state file",
				     r->path);
			damaged(r, DAMAGE_ROOT, &err);
		} else if (parse_root(&el, r->path, r->st, &err) < 0) {
			damaged(r, DAMAGE_ROOT, &err);
		} else if (prop(&el, A_VERSION, v, sizeof(v)) != 1 || strcmp(v, "1")) {
			r->text = NULL; /* written in another format: every slot is written anew */
		}
	} else if (depth == 1 && !strcmp(name, "vf")) {
		if (add_slot(r, &el, &err) < 0)
			damaged(r, DAMAGE_VF, &err);
		else if (r->text)
			r->span[r->st->nvfs - 1] = vf_span(r, ctx, prefix || uri || nb_namespaces,
							   attributes, nb_attributes);
	} else if (depth == 1 && !strcmp(name, "bitstream") && !r->seen_bitstream) {
		r->seen_bitstream = true;
		prop(&el, A_PATH, r->st->bitstream, sizeof(r->st->bitstream));
		prop(&el, A_KIND, r->st->bitstream_kind, sizeof(r->st->bitstream_kind));
		prop(&el, A_FLASHED_AT, v, sizeof(v));
		r->st->flashed_at = strtoll(v, NULL, 10);
	} else if (depth == 1 && !strcmp(name, "busy") && !r->seen_busy) {
		r->seen_busy = true;
		if (parse_busy(&el, r->path, &r->st->busy, &err) < 0)
			damaged(r, DAMAGE_BUSY, &err);
	} else if (depth == 1 && !strcmp(name, "journal") && !r->seen_journal) {
		r->seen_journal = true;
		r->journal_depth = 1;
		if (parse_journal(&el, r->path, &r->st->journal, &err) < 0)
			damaged(r, DAMAGE_JOURNAL, &err);
	} else if (depth == 2 && r->journal_depth && !strcmp(name, "taken")) {
		if (parse_taken(&el, r->path, &r->st->journal, &err) < 0)
			damaged(r, DAMAGE_JOURNAL, &err);
	}
}

static void ledger_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		       const xmlChar *uri)
{
	struct ledger_reader *r = ((xmlParserCtxtPtr)ctx)->_private;

	(void)localname;
	(void)prefix;
	(void)uri;
	if (--r->depth == r->journal_depth)
		r->journal_depth = 0;
}

static int ledger_parse(const char *text, size_t len, const char *path, const char *pool,
			struct esfm_pool_state *st, struct ledger_reader *r, struct esfm_err *err);

/*
 * Keep @text (taken) and where each slot was read in it: a save writes the
 * slots that did not change from there. Without memory it only costs that.
 */
static void keep_source(struct esfm_pool_state *st, char **text, struct ledger_reader *r)
{
	struct esfm_ledger_source *src;
	size_t used = 0;
	char *shrunk;

	if (!r->text || !st->nvfs)
		return;
	/* The bound is never touched beyond what the packs use: no page faults for it. */
	src = calloc(1, sizeof(*src));
	if (!src || !(src->packed = malloc(st->nvfs * SLOT_PACK_MAX))) {
		free(src);
		return;
	}
	for (size_t i = 0; i < st->nvfs; i++) {
		r->span[i].packed_off = used;
		r->span[i].packed_len = slot_pack(&st->vfs[i], src->packed + used);
		used += r->span[i].packed_len;
	}
	shrunk = realloc(src->packed, used);
	if (shrunk)
		src->packed = shrunk;
	src->text = *text;
	*text = NULL;
	src->span = r->span;
	r->span = NULL;
	src->nslots = st->nvfs;
	st->source = src;
}

int esfm_state_load(const char *state_dir, const char *pool, struct esfm_pool_state *st,
		    struct esfm_err *err)
{
	struct ledger_reader r = {0};
	int res;
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	_cleanup_close_ int dfd = -1;
	size_t len;

	memset(st, 0, sizeof(*st));
	if (state_path(state_dir, pool, "state", path, sizeof(path), err) < 0)
		return -1;
	snprintf(st->pool, sizeof(st->pool), "%s", pool);
	dfd = state_dir_open(state_dir, false, err);
	if (dfd < 0 && err->errnum == ENOENT) {
		esfm_err_clear(err);
		return 0;
	}
	if (dfd < 0 ||
	    esfm_read_file_at(dfd, strrchr(path, '/') + 1, path, 16 << 20, &text, &len, err) < 0) {
		if (err->cls == ESFM_ERR_NOTFOUND) {
			esfm_err_clear(err);
			return 0;
		}
		return -1;
	}
	r.text = text;
	r.len = len;
	res = ledger_parse(text, len, path, pool, st, &r, err);
	if (res == 0)
		keep_source(st, &text, &r);
	free(r.span);
	return res;
}

int esfm_state_parse(const char *text, size_t len, const char *path, const char *pool,
		     struct esfm_pool_state *st, struct esfm_err *err)
{
	struct ledger_reader r = {0};

	return ledger_parse(text, len, path, pool, st, &r, err);
}

/*
 * How many slots to allocate at first: the "<vf" in the text (an upper
 * bound), so that a 252-slot ledger is not copied from 64 to 128 to 256.
 */
static size_t vf_count_hint(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t n = 0;

	while (n < 4096 && (p = memchr(p, '<', (size_t)(end - p)))) {
		n += end - p >= 3 && p[1] == 'v' && p[2] == 'f';
		p++;
	}
	return n ? n : 64;
}

/* Parse with @r (whose text and len say whether spans are wanted). */
static int ledger_parse(const char *text, size_t len, const char *path, const char *pool,
			struct esfm_pool_state *st, struct ledger_reader *r, struct esfm_err *err)
{
	int bad;

	r->sax = (struct esfm_xml_sax){.start = ledger_start, .end = ledger_end};
	r->first_cap = vf_count_hint(text, len);
	r->path = path;
	r->st = st;
	r->rank = DAMAGE_NONE;
	memset(st, 0, sizeof(*st));
	snprintf(st->pool, sizeof(st->pool), "%s", pool);
	bad = esfm_xml_sax_parse(text, len, path, &r->sax, err);

	if (bad == 0 && r->rank != DAMAGE_NONE) {
		*err = r->damage;
		bad = -1;
	}
	if (bad < 0) {
		esfm_state_clear(st);
		snprintf(st->pool, sizeof(st->pool), "%s", pool);
		return esfm_err_hint(err,
				     "the file is damaged; inspect it, then fix or remove it once "
				     "no VM uses pool '%s'",
				     pool);
	}
	if (!st->nvfs) {
		free(st->vfs);
		st->vfs = NULL;
	}
	return 0;
}

/*
 * The ledger is written with libxml2's streaming writer: at every prepare a
 * tree of some 2,000 attribute nodes was built only to be serialised once.
 */
static int attr(xmlTextWriterPtr w, const char *name, const char *v)
{
	return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST v) < 0 ? -1 : 0;
}

static int attr_fmt(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int attr_fmt(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
{
	char v[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return attr(w, name, v);
}

static int start(xmlTextWriterPtr w, const char *name)
{
	return xmlTextWriterStartElement(w, BAD_CAST name) < 0 ? -1 : 0;
}

static int end(xmlTextWriterPtr w)
{
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

static int slot_to_xml(xmlTextWriterPtr w, const struct esfm_vf_slot *s)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (start(w, "vf") < 0 || attr_fmt(w, "index", "%u", s->index) < 0 ||
	    attr(w, "address", esfm_pci_addr_str(&s->addr, a)) < 0 ||
	    attr(w, "state", esfm_vf_state_name(s->state)) < 0)
		return -1;
	if (s->origin != ESFM_ORIGIN_NONE && attr(w, "origin", esfm_vf_origin_name(s->origin)) < 0)
		return -1;
	if ((s->uuid[0] && attr(w, "uuid", s->uuid) < 0) ||
	    (s->name[0] && attr(w, "name", s->name) < 0) ||
	    (s->alias[0] && attr(w, "alias", s->alias) < 0) ||
	    (s->last_uuid[0] && attr(w, "last-uuid", s->last_uuid) < 0))
		return -1;
	if (s->worker_pid && (attr_fmt(w, "worker-pid", "%ld", s->worker_pid) < 0 ||
			      attr_fmt(w, "worker-start", "%llu", s->worker_start) < 0))
		return -1;
	if (attr_fmt(w, "since", "%lld", s->since) < 0)
		return -1;
	return end(w);
}

static int journal_to_xml(xmlTextWriterPtr w, const struct esfm_journal *j)
{
	if (start(w, "journal") < 0 || attr_fmt(w, "old", "%u", j->old_count) < 0 ||
	    attr_fmt(w, "new", "%u", j->new_count) < 0 ||
	    attr(w, "numvfs", j->numvfs ? "changing" : "kept") < 0 ||
	    (j->pf_removed && attr(w, "pf", "removed") < 0))
		return -1;
	for (size_t i = 0; i < j->ntaken; i++) {
		const struct esfm_journal_taken *t = &j->taken[i];

		if (start(w, "taken") < 0 || attr_fmt(w, "index", "%u", t->index) < 0 ||
		    attr(w, "how", t->paused ? "paused" : "unplugged") < 0 ||
		    attr(w, "uuid", t->uuid) < 0 || attr(w, "vm", t->vm) < 0 ||
		    attr(w, "alias", t->alias) < 0 || end(w) < 0)
			return -1;
	}
	return end(w);
}

/* The span of slot @i in the text @st was loaded from, if the slot is still as read there. */
static const struct ledger_span *unchanged_span(const struct esfm_pool_state *st, size_t i)
{
	const struct esfm_ledger_source *src = st->source;
	char now[SLOT_PACK_MAX];
	const struct ledger_span *sp;

	if (!src || i >= src->nslots || !src->span[i].len)
		return NULL;
	sp = &src->span[i];
	if (slot_pack(&st->vfs[i], now) != sp->packed_len ||
	    memcmp(now, src->packed + sp->packed_off, sp->packed_len))
		return NULL;
	return sp;
}

/*
 * A slot as it was read: its element's bytes again, on a line of its own as
 * the writer indents it. Only once the root's start tag is closed (the
 * writer closes it without a newline for raw text).
 */
static int slot_as_read(xmlTextWriterPtr w, const struct esfm_pool_state *st,
			const struct ledger_span *sp)
{
	return xmlTextWriterWriteRawLen(w, BAD_CAST "  ", 2) < 0 ||
			       xmlTextWriterWriteRawLen(w, BAD_CAST st->source->text + sp->off,
							(int)sp->len) < 0 ||
			       xmlTextWriterWriteRawLen(w, BAD_CAST "\n", 1) < 0
		       ? -1
		       : 0;
}

/*
 * The whole ledger as XML text in @buf. Of 252 slots a prepare changes one:
 * the others are written as they were read (unchanged_span), which is most
 * of what the writer cost at each VM start.
 */
static int state_to_xml(xmlBufferPtr buf, const struct esfm_pool_state *st)
{
	xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
	char a[ESFM_PCI_ADDR_STRLEN];
	bool closed; /* the root's start tag: an element was written into it */
	int r = -1;

	if (!w || xmlTextWriterSetIndent(w, 1) < 0 ||
	    xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0 ||
	    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 || start(w, "esfm-state") < 0 ||
	    attr(w, "version", "1") < 0 || attr(w, "pool", st->pool) < 0 ||
	    attr(w, "pf", esfm_pci_addr_str(&st->pf, a)) < 0 ||
	    attr_fmt(w, "generation", "%lu", st->generation) < 0)
		goto out;
	if (st->bitstream[0] &&
	    (start(w, "bitstream") < 0 || attr(w, "path", st->bitstream) < 0 ||
	     (st->bitstream_kind[0] && attr(w, "kind", st->bitstream_kind) < 0) ||
	     attr_fmt(w, "flashed-at", "%lld", st->flashed_at) < 0 || end(w) < 0))
		goto out;
	if (st->busy.pid && (start(w, "busy") < 0 || attr_fmt(w, "pid", "%ld", st->busy.pid) < 0 ||
			     attr_fmt(w, "start", "%llu", st->busy.start) < 0 ||
			     attr(w, "what", st->busy.what) < 0 ||
			     attr_fmt(w, "since", "%lld", st->busy.since) < 0 || end(w) < 0))
		goto out;
	if (st->journal.active && journal_to_xml(w, &st->journal) < 0)
		goto out;
	closed = st->bitstream[0] || st->busy.pid || st->journal.active;
	for (size_t i = 0; i < st->nvfs; i++) {
		const struct ledger_span *sp = closed ? unchanged_span(st, i) : NULL;

		if (sp ? slot_as_read(w, st, sp) < 0 : slot_to_xml(w, &st->vfs[i]) < 0)
			goto out;
		closed = true;
	}
	if (xmlTextWriterEndDocument(w) < 0)
		goto out;
	r = 0;
out:
	xmlFreeTextWriter(w); /* flushes into @buf */
	return r;
}

int esfm_state_save(const char *state_dir, struct esfm_pool_state *st, struct esfm_err *err)
{
	xmlBufferPtr buf = NULL;
	char path[PATH_MAX];
	_cleanup_close_ int dfd = -1;
	int r;

	if (state_path(state_dir, st->pool, "state", path, sizeof(path), err) < 0)
		return -1;
	st->generation++;
	/* About what a slot takes: a buffer grown from 4 KiB copied the ledger five times. */
	buf = xmlBufferCreateSize(st->nvfs * 256 + 1024);
	if (!buf || state_to_xml(buf, st) < 0) {
		xmlBufferFree(buf);
		return esfm_err_sys(err, ENOMEM, "cannot build %s", path);
	}
	dfd = state_dir_open(state_dir, false, err);
	if (dfd >= 0)
		esfm_remove_stale_temps_at(dfd, strrchr(path, '/') + 1, true); /* under the lock */
	r = dfd < 0 ? -1
		    : esfm_write_file_atomic_at(dfd, strrchr(path, '/') + 1, path,
						(const char *)xmlBufferContent(buf),
						(size_t)xmlBufferLength(buf), err);
	xmlBufferFree(buf);
	if (r == 0)
		esfm_debug("pool '%s': state saved (generation %lu)", st->pool, st->generation);
	return r;
}

int esfm_state_resize(struct esfm_pool_state *st, size_t n, struct esfm_err *err)
{
	struct esfm_vf_slot *nv;

	for (size_t i = n; i < st->nvfs; i++)
		if (st->vfs[i].state != ESFM_VF_FREE) {
			esfm_err_set(err, ESFM_ERR_BUSY, 0, "pool '%s': VF %zu is %s by '%s'",
				     st->pool, i, esfm_vf_state_name(st->vfs[i].state),
				     st->vfs[i].name);
			return esfm_err_hint(err, "detach it or stop that VM first");
		}
	if (n == st->nvfs)
		return 0;
	if (n == 0) {
		free(st->vfs);
		st->vfs = NULL;
		st->nvfs = 0;
		return 0;
	}
	nv = realloc(st->vfs, n * sizeof(*nv));
	if (!nv)
		return esfm_err_sys(err, ENOMEM, "cannot grow the state of pool '%s'", st->pool);
	for (size_t i = st->nvfs; i < n; i++) {
		memset(&nv[i], 0, sizeof(nv[i]));
		nv[i].index = (unsigned)i;
		nv[i].since = time(NULL);
	}
	st->vfs = nv;
	st->nvfs = n;
	return 0;
}

void esfm_state_set_free(struct esfm_vf_slot *s)
{
	if (s->uuid[0])
		snprintf(s->last_uuid, sizeof(s->last_uuid), "%s", s->uuid);
	s->state = ESFM_VF_FREE;
	s->origin = ESFM_ORIGIN_NONE;
	s->uuid[0] = s->name[0] = s->alias[0] = '\0';
	s->worker_pid = 0;
	s->worker_start = 0;
	s->since = time(NULL);
}

void esfm_state_set_owner(struct esfm_vf_slot *s, enum esfm_vf_state state,
			  enum esfm_vf_origin origin, const char *uuid, const char *name,
			  const char *alias)
{
	s->state = state;
	s->origin = origin;
	snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->alias, sizeof(s->alias), "%s", alias ? alias : "");
	s->worker_pid = 0;
	s->worker_start = 0;
	s->since = time(NULL);
}

size_t esfm_state_count_used(const struct esfm_pool_state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nvfs; i++)
		n += st->vfs[i].state != ESFM_VF_FREE;
	return n;
}
